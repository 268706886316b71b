// Package sampling is aws-xray-sdk-go's sampling strategies on OpenXRay:
// the same constructors and the same rules format, decided by the core's
// strategies (package github.com/openxray/xray/sampling). Its Strategy
// passes pointers where the core's passes values; xray.Configure of this
// tree takes either.
package sampling

import (
	"github.com/openxray/xray/compat/daemoncfg"
	core "github.com/openxray/xray/sampling"
)

// Request is what a rule is matched against.
type Request struct {
	Host        string
	Method      string
	URL         string
	ServiceName string
	ServiceType string
}

// Decision is a strategy's answer: whether to sample, and the rule that
// decided.
type Decision struct {
	Sample bool
	Rule   *string
}

// Strategy decides which requests are sampled.
type Strategy interface {
	ShouldTrace(request *Request) *Decision
}

// Core returns s as a strategy of the core. A strategy of this package is
// unwrapped; any other is called through an adapter.
func Core(s Strategy) core.Strategy {
	switch s := s.(type) {
	case nil:
		return nil
	case *LocalizedStrategy:
		return s.s
	case *CentralizedStrategy:
		return s.s
	}
	return core.StrategyFunc(func(r core.Request) core.Decision {
		d := s.ShouldTrace(&Request{Host: r.Host, Method: r.Method, URL: r.URL, ServiceName: r.ServiceName, ServiceType: r.ServiceType})
		if d == nil {
			return core.Decision{}
		}
		out := core.Decision{Sample: d.Sample}
		if d.Rule != nil {
			out.Rule = *d.Rule
		}
		return out
	})
}

func decide(s core.Strategy, r *Request) *Decision {
	var cr core.Request
	if r != nil {
		cr = core.Request{Host: r.Host, Method: r.Method, URL: r.URL, ServiceName: r.ServiceName, ServiceType: r.ServiceType}
	}
	d := s.ShouldTrace(cr)
	out := &Decision{Sample: d.Sample}
	if d.Rule != "" {
		rule := d.Rule
		out.Rule = &rule
	}
	return out
}

// LocalizedStrategy samples by rules given in the program (version 1 or 2
// of the local rules format).
type LocalizedStrategy struct{ s *core.LocalizedStrategy }

// NewLocalizedStrategy returns the default rules: one request a second and
// five percent of the rest.
func NewLocalizedStrategy() (*LocalizedStrategy, error) {
	return &LocalizedStrategy{core.NewLocalizedStrategy()}, nil
}

// NewLocalizedStrategyFromFilePath reads the rules from a JSON file.
func NewLocalizedStrategyFromFilePath(fp string) (*LocalizedStrategy, error) {
	s, err := core.NewLocalizedStrategyFromFilePath(fp)
	if err != nil {
		return nil, err
	}
	return &LocalizedStrategy{s}, nil
}

// NewLocalizedStrategyFromJSONBytes reads the rules from JSON.
func NewLocalizedStrategyFromJSONBytes(b []byte) (*LocalizedStrategy, error) {
	s, err := core.NewLocalizedStrategyFromJSONBytes(b)
	if err != nil {
		return nil, err
	}
	return &LocalizedStrategy{s}, nil
}

// ShouldTrace decides for one request.
func (lss *LocalizedStrategy) ShouldTrace(rq *Request) *Decision { return decide(lss.s, rq) }

// CentralizedStrategy samples by the rules set in X-Ray, read through the
// daemon, with local rules until they arrive.
type CentralizedStrategy struct{ s *core.CentralizedStrategy }

// NewCentralizedStrategy returns the strategy with the default local rules.
func NewCentralizedStrategy() (*CentralizedStrategy, error) {
	s, err := core.NewCentralizedStrategy(core.WithDaemonAddress(daemoncfg.GetDaemonEndpoints().TCPAddr.String()))
	if err != nil {
		return nil, err
	}
	return &CentralizedStrategy{s}, nil
}

// NewCentralizedStrategyWithFilePath returns the strategy with local rules
// read from a JSON file.
func NewCentralizedStrategyWithFilePath(fp string) (*CentralizedStrategy, error) {
	s, err := core.NewCentralizedStrategyWithFilePath(fp, core.WithDaemonAddress(daemoncfg.GetDaemonEndpoints().TCPAddr.String()))
	if err != nil {
		return nil, err
	}
	return &CentralizedStrategy{s}, nil
}

// NewCentralizedStrategyWithJSONBytes returns the strategy with local rules
// read from JSON.
func NewCentralizedStrategyWithJSONBytes(b []byte) (*CentralizedStrategy, error) {
	s, err := core.NewCentralizedStrategyWithJSONBytes(b, core.WithDaemonAddress(daemoncfg.GetDaemonEndpoints().TCPAddr.String()))
	if err != nil {
		return nil, err
	}
	return &CentralizedStrategy{s}, nil
}

// ShouldTrace decides for one request.
func (ss *CentralizedStrategy) ShouldTrace(request *Request) *Decision { return decide(ss.s, request) }

// LoadDaemonEndpoints is accepted for compatibility. The daemon's address
// is fixed when the strategy is made (from AWS_XRAY_DAEMON_ADDRESS); make
// a new strategy to change it.
func (ss *CentralizedStrategy) LoadDaemonEndpoints(endpoints *daemoncfg.DaemonEndpoints) {}
