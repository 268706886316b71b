module github.com/openxray/xray

go 1.26.0

require github.com/DataDog/go-sqllexer v0.2.6

require google.golang.org/protobuf v1.36.12 // indirect
