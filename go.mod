module github.com/openxray/xray

go 1.24
