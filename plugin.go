package xray

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/openxray/xray/internal/jsonx"
)

// DefaultPluginTimeout bounds how long New waits for the plugins.
const DefaultPluginTimeout = time.Second

// Plugin detects the AWS environment the service runs in (an EC2
// instance, an ECS task, an EKS pod, an Elastic Beanstalk environment).
// The recorder asks its plugins once, when it is made, never on a
// request's path; the packages under plugins/ implement it.
type Plugin interface {
	// Detect returns the environment, or nil (and no error) when the
	// service does not run there. It must return when ctx is done.
	Detect(ctx context.Context) (*Environment, error)
}

// Environment is what a plugin found: the segment's origin and the fields
// of one entry of the segment's aws block.
type Environment struct {
	// Origin is the type of AWS resource, such as AWS::EC2::Instance.
	Origin string
	// Key names the entry of the aws block, such as "ec2" or "ecs".
	Key string
	// Fields are the entry's fields, such as instance_id: strings or
	// numbers, marshalled with encoding/json. Empty strings and nil are
	// left out.
	Fields map[string]any
}

// originRank orders origins from the most specific: a container of an EKS
// cluster on EC2 is recorded as the EKS container.
func originRank(origin string) int {
	switch origin {
	case "AWS::ElasticBeanstalk::Environment":
		return 5
	case "AWS::EKS::Container":
		return 4
	case "AWS::ECS::Fargate", "AWS::ECS::Container":
		return 3
	case "AWS::EC2::Instance":
		return 2
	case "":
		return 0
	}
	return 1
}

// detectEnvironment runs the plugins at once and waits at most timeout for
// them. It returns the most specific origin and the aws block entries,
// encoded, with a trailing comma each.
func (r *Recorder) detectEnvironment(plugins []Plugin, timeout time.Duration) (origin string, fields []byte, found []*Environment) {
	if len(plugins) == 0 {
		return "", nil, nil
	}
	if timeout <= 0 {
		timeout = DefaultPluginTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	envs := make([]*Environment, len(plugins))
	var wg sync.WaitGroup
	for i, p := range plugins {
		wg.Go(func() {
			defer func() {
				if v := recover(); v != nil {
					r.logger.Warn("xray: plugin panicked; its environment is not recorded", "plugin", pluginName(p), "panic", v)
				}
			}()
			env, err := p.Detect(ctx)
			if err != nil {
				r.logger.Warn("xray: plugin found no environment", "plugin", pluginName(p), "error", err)
				return
			}
			envs[i] = env
		})
	}
	wg.Wait()
	for _, env := range envs {
		if env != nil && env.Key != "" {
			found = append(found, env)
		}
	}
	slices.SortFunc(found, func(a, b *Environment) int { return strings.Compare(a.Key, b.Key) })
	for _, env := range found {
		if originRank(env.Origin) > originRank(origin) {
			origin = env.Origin
		}
		fields = jsonx.String(fields, env.Key)
		fields = append(fields, ":{"...)
		keys := make([]string, 0, len(env.Fields))
		for k, v := range env.Fields {
			if v != nil && v != "" {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		n := 0
		for _, k := range keys {
			b, err := json.Marshal(env.Fields[k])
			if err != nil {
				r.logger.Warn("xray: plugin field left out", "key", env.Key+"."+k, "error", err)
				continue
			}
			if n > 0 {
				fields = append(fields, ',')
			}
			n++
			fields = jsonx.String(fields, k)
			fields = append(fields, ':')
			fields = append(fields, b...)
		}
		fields = append(fields, "},"...)
	}
	return origin, fields, found
}

func pluginName(p Plugin) string {
	if s, ok := p.(interface{ String() string }); ok {
		return s.String()
	}
	return "plugin"
}
