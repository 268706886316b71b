module github.com/openxray/xray

go 1.25

require github.com/DataDog/go-sqllexer v0.2.6
