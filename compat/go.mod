module github.com/openxray/xray/compat

go 1.26.0

require (
	github.com/aws/smithy-go v1.28.9
	github.com/openxray/xray v0.0.0
	github.com/openxray/xray/contrib/xrayaws v0.0.0
	github.com/openxray/xray/contrib/xraygrpc v0.0.0
	google.golang.org/grpc v1.85.0
)

require (
	github.com/DataDog/go-sqllexer v0.2.6 // indirect
	github.com/aws/aws-lambda-go v1.55.1
	github.com/aws/aws-sdk-go-v2 v1.48.0 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace (
	github.com/openxray/xray => ..
	github.com/openxray/xray/contrib/xrayaws => ../contrib/xrayaws
	github.com/openxray/xray/contrib/xraygrpc => ../contrib/xraygrpc
)
