module github.com/openxray/xray/contrib/xraychi

go 1.26.0

require github.com/openxray/xray v0.0.0

require (
	github.com/DataDog/go-sqllexer v0.2.6 // indirect
	github.com/go-chi/chi/v5 v5.5.0
)

replace github.com/openxray/xray => ../..
