module github.com/openxray/xray/interop

go 1.26.0

require (
	github.com/openxray/xray v0.0.0
	github.com/openxray/xray/contrib/xraygrpc v0.0.0
)

require (
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/pgx/v5 v5.12.0 // indirect
	go.opentelemetry.io/collector/pdata v1.71.0 // indirect
	golang.org/x/text v0.42.0 // indirect
)

replace (
	github.com/openxray/xray => ../
	github.com/openxray/xray/contrib/xraygrpc => ../contrib/xraygrpc
)
