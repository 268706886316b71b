// Package ecs is aws-xray-sdk-go's ecs plugin on OpenXRay: Init adds
// the ECS container (its host name and, from the task metadata endpoint, container and cluster) to every segment, through the core's plugin
// (package github.com/openxray/xray/plugins/ecs).
package ecs

import (
	"github.com/openxray/xray/compat/internal/config"
	core "github.com/openxray/xray/plugins/ecs"
)

// Origin is the origin of segments recorded here.
const Origin = "AWS::ECS::Container"

// Init registers the plugin: the default recorder is remade with it, and
// xray.Configure (of this tree) keeps it. Call it once, before the first
// segment.
func Init() {
	if err := config.AddPlugin(core.New()); err != nil {
		config.Logger().Error("xray: ecs plugin", "err", err)
	}
}
