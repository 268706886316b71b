// Package beanstalk is aws-xray-sdk-go's beanstalk plugin on OpenXRay: Init adds
// the Elastic Beanstalk environment (name, version label, deployment ID) to every segment, through the core's plugin
// (package github.com/openxray/xray/plugins/beanstalk).
package beanstalk

import (
	"github.com/openxray/xray/compat/internal/config"
	core "github.com/openxray/xray/plugins/beanstalk"
)

// Origin is the origin of segments recorded here.
const Origin = "AWS::ElasticBeanstalk::Environment"

// Init registers the plugin: the default recorder is remade with it, and
// xray.Configure (of this tree) keeps it. Call it once, before the first
// segment.
func Init() {
	if err := config.AddPlugin(core.New()); err != nil {
		config.Logger().Error("xray: beanstalk plugin", "err", err)
	}
}
