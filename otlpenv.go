package xray

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Names of Config.Exporters and of OTEL_TRACES_EXPORTER's values.
const (
	// ExporterXRay sends segment documents to Config.Emitter, by default
	// the X-Ray daemon (or the CloudWatch agent, or a collector's awsxray
	// receiver) over UDP.
	ExporterXRay = "xray"
	// ExporterOTLP sends spans over OTLP/HTTP (see OTLPConfig): to an
	// OpenTelemetry collector, the CloudWatch agent, Jaeger, or X-Ray's
	// OTLP endpoint.
	ExporterOTLP = "otlp"
	// ExporterNone sends nothing.
	ExporterNone = "none"
)

// exporters is the resolved set of destinations.
type exporters struct {
	xray, otlp bool
}

// resolveExporters applies OTEL_TRACES_EXPORTER over names.
func resolveExporters(names []string, getenv func(string) string) (exporters, error) {
	if v := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); v != "" {
		names = strings.Split(v, ",")
	}
	var x exporters
	if len(names) == 0 {
		x.xray = true
		return x, nil
	}
	for _, n := range names {
		switch strings.ToLower(strings.TrimSpace(n)) {
		case ExporterXRay:
			x.xray = true
		case ExporterOTLP:
			x.otlp = true
		case ExporterNone, "":
		default:
			return x, fmt.Errorf("xray: unknown traces exporter %q (want %q, %q or %q)", n, ExporterXRay, ExporterOTLP, ExporterNone)
		}
	}
	return x, nil
}

// otlpFromEnv applies the OTEL_* variables over cfg: the signal-specific
// OTEL_EXPORTER_OTLP_TRACES_* over the general OTEL_EXPORTER_OTLP_*, as
// OpenTelemetry's SDKs do.
func otlpFromEnv(cfg OTLPConfig, getenv func(string) string) (OTLPConfig, error) {
	get := func(name string) string {
		if v := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_" + name)); v != "" {
			return v
		}
		return strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_" + name))
	}
	var errs []error
	switch p := get("PROTOCOL"); p {
	case "", "http/protobuf":
	default:
		errs = append(errs, fmt.Errorf("OTLP protocol %q is not supported: use http/protobuf (port 4318)", p))
	}
	if v := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")); v != "" {
		cfg.Endpoint = v
	} else if v := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT")); v != "" {
		cfg.Endpoint = strings.TrimRight(v, "/") + "/v1/traces"
	}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("OTLP endpoint %q is not an http or https URL", cfg.Endpoint))
		}
	}
	if v := get("HEADERS"); v != "" {
		h, err := parseKeyValues(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("OTEL_EXPORTER_OTLP_HEADERS: %w", err))
		}
		cfg.Headers = mergeMaps(cfg.Headers, h)
	}
	if v := get("COMPRESSION"); v != "" {
		cfg.Compression = v
	}
	switch cfg.Compression {
	case "", "gzip", "none":
	default:
		errs = append(errs, fmt.Errorf("OTLP compression %q: want gzip or none", cfg.Compression))
	}
	if v := get("TIMEOUT"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			errs = append(errs, fmt.Errorf("OTEL_EXPORTER_OTLP_TIMEOUT %q: want milliseconds", v))
		} else {
			cfg.Timeout = time.Duration(ms) * time.Millisecond
		}
	}
	if v := strings.TrimSpace(getenv("OTEL_RESOURCE_ATTRIBUTES")); v != "" {
		attrs, err := parseKeyValues(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err))
		}
		cfg.ResourceAttributes = mergeMaps(cfg.ResourceAttributes, attrs)
	}
	if name, ok := cfg.ResourceAttributes["service.name"]; ok && name != "" {
		cfg.ServiceName = name
	}
	if v := strings.TrimSpace(getenv("OTEL_SERVICE_NAME")); v != "" {
		cfg.ServiceName = v
	}
	for _, n := range []struct {
		name string
		dst  *int
	}{{"OTEL_BSP_MAX_QUEUE_SIZE", &cfg.MaxQueueSize}, {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", &cfg.MaxBatchSize}} {
		if v := strings.TrimSpace(getenv(n.name)); v != "" {
			i, err := strconv.Atoi(v)
			if err != nil || i <= 0 {
				errs = append(errs, fmt.Errorf("%s %q: want a positive integer", n.name, v))
				continue
			}
			*n.dst = i
		}
	}
	if v := strings.TrimSpace(getenv("OTEL_BSP_SCHEDULE_DELAY")); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			errs = append(errs, fmt.Errorf("OTEL_BSP_SCHEDULE_DELAY %q: want milliseconds", v))
		} else {
			cfg.BatchTimeout = time.Duration(ms) * time.Millisecond
		}
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, fmt.Errorf("xray: %w", err)
	}
	return cfg, nil
}

// parseKeyValues reads the k1=v1,k2=v2 lists of OTEL_EXPORTER_OTLP_HEADERS
// and OTEL_RESOURCE_ATTRIBUTES, whose values are percent-encoded.
func parseKeyValues(s string) (map[string]string, error) {
	m := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return m, fmt.Errorf("%q is not key=value", part)
		}
		dv, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return m, fmt.Errorf("the value of %q: %w", k, err)
		}
		m[k] = dv
	}
	return m, nil
}

func mergeMaps(base, over map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(over))
	maps.Copy(out, base)
	maps.Copy(out, over)
	return out
}

// platforms maps a segment origin to cloud.platform.
var platforms = map[string]string{
	"AWS::EC2::Instance":                 "aws_ec2",
	"AWS::ECS::Container":                "aws_ecs",
	"AWS::ECS::Fargate":                  "aws_ecs",
	"AWS::EKS::Container":                "aws_eks",
	"AWS::ElasticBeanstalk::Environment": "aws_elastic_beanstalk",
	"AWS::Lambda::Function":              "aws_lambda",
}

// pluginResourceKeys maps the plugins' aws block fields to OpenTelemetry
// resource attributes; the others are written as aws.<plugin>.<field>.
var pluginResourceKeys = map[string]string{
	"ec2.instance_id":                    "host.id",
	"ec2.instance_type":                  "host.type",
	"ec2.ami_id":                         "host.image.id",
	"ec2.availability_zone":              "cloud.availability_zone",
	"ecs.container":                      "container.name",
	"ecs.container_id":                   "container.id",
	"ecs.container_arn":                  "aws.ecs.container.arn",
	"ecs.task_arn":                       "aws.ecs.task.arn",
	"ecs.cluster_arn":                    "aws.ecs.cluster.arn",
	"ecs.launch_type":                    "aws.ecs.launchtype",
	"eks.cluster_name":                   "k8s.cluster.name",
	"eks.pod":                            "k8s.pod.name",
	"eks.container_id":                   "container.id",
	"elastic_beanstalk.environment_name": "deployment.environment.name",
	"elastic_beanstalk.version_label":    "service.version",
	"elastic_beanstalk.deployment_id":    "service.instance.id",
}

// otlpResource encodes the resource attributes other than service.name,
// as Resource.attributes fields.
func otlpResource(serviceVersion, origin string, envs []*Environment, extra map[string]string) []byte {
	a := attrs{num: pbResourceAttributes}
	seen := map[string]bool{"service.name": true}
	put := func(k, v string) {
		if v == "" || seen[k] {
			return
		}
		seen[k] = true
		a.str(k, v)
	}
	// What the user set wins over what the recorder found.
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		put(k, extra[k])
	}
	put("service.version", serviceVersion)
	put("telemetry.sdk.name", "openxray")
	put("telemetry.sdk.language", "go")
	put("telemetry.sdk.version", SDKVersion)
	if len(envs) > 0 || origin != "" {
		put("cloud.provider", "aws")
		put("cloud.platform", platforms[origin])
	}
	for _, env := range envs {
		for _, f := range slices.Sorted(maps.Keys(env.Fields)) {
			var v string
			switch x := env.Fields[f].(type) {
			case string:
				v = x
			case nil:
			default:
				v = fmt.Sprint(x)
			}
			key, ok := pluginResourceKeys[env.Key+"."+f]
			if !ok {
				key = "aws." + env.Key + "." + f
			}
			put(key, v)
		}
	}
	if az, ok := findField(envs, "ec2", "availability_zone"); ok && len(az) > 1 {
		put("cloud.region", strings.TrimRight(az, "abcdefghijklmnopqrstuvwxyz"))
	}
	return a.b
}

func findField(envs []*Environment, key, field string) (string, bool) {
	for _, env := range envs {
		if env.Key == key {
			s, ok := env.Fields[field].(string)
			return s, ok
		}
	}
	return "", false
}
