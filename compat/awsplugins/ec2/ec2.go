// Package ec2 is aws-xray-sdk-go's ec2 plugin on OpenXRay: Init adds
// the EC2 instance (ID, type, availability zone, AMI) from the instance metadata service to every segment, through the core's plugin
// (package github.com/openxray/xray/plugins/ec2).
package ec2

import (
	"github.com/openxray/xray/compat/internal/config"
	core "github.com/openxray/xray/plugins/ec2"
)

// Origin is the origin of segments recorded here.
const Origin = "AWS::EC2::Instance"

// Init registers the plugin: the default recorder is remade with it, and
// xray.Configure (of this tree) keeps it. Call it once, before the first
// segment.
func Init() {
	if err := config.AddPlugin(core.New()); err != nil {
		config.Logger().Error("xray: ec2 plugin", "err", err)
	}
}

// Metdata is the part of the instance metadata the plugin records.
//
// Deprecated: kept for programs written against aws-xray-sdk-go, which
// exports it under this name; the plugin does not use it.
type Metdata struct {
	AvailabilityZone string
	ImageID          string
	InstanceID       string
	InstanceType     string
}
