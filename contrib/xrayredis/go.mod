module github.com/openxray/xray/contrib/xrayredis

go 1.26.0

require (
	github.com/openxray/xray v0.0.0
	github.com/redis/go-redis/v9 v9.23.0
)

require (
	github.com/DataDog/go-sqllexer v0.2.6 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)

replace github.com/openxray/xray => ../..
