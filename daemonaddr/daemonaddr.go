// Package daemonaddr parses the X-Ray daemon address, as given in
// AWS_XRAY_DAEMON_ADDRESS or Config.DaemonAddr.
package daemonaddr

import (
	"fmt"
	"net"
	"strings"
)

// Default is where the X-Ray daemon listens unless told otherwise.
const Default = "127.0.0.1:2000"

// Addr is the daemon's UDP address (segments) and TCP address (sampling API).
type Addr struct {
	UDP string
	TCP string
}

// Parse accepts "host:port" (the same address for UDP and TCP) or the two
// parts "tcp:host:port udp:host:port" in either order. Hosts may be names,
// IPv4 or bracketed IPv6 literals. An empty string yields Default.
func Parse(s string) (Addr, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Addr{UDP: Default, TCP: Default}, nil
	}
	fields := strings.Fields(s)
	switch len(fields) {
	case 1:
		if err := check(fields[0]); err != nil {
			return Addr{}, err
		}
		return Addr{UDP: fields[0], TCP: fields[0]}, nil
	case 2:
		var a Addr
		for _, f := range fields {
			proto, hostport, ok := strings.Cut(f, ":")
			if !ok {
				return Addr{}, fmt.Errorf("daemon address %q: part %q lacks tcp: or udp:", s, f)
			}
			if err := check(hostport); err != nil {
				return Addr{}, err
			}
			switch strings.ToLower(proto) {
			case "tcp":
				if a.TCP != "" {
					return Addr{}, fmt.Errorf("daemon address %q: tcp given twice", s)
				}
				a.TCP = hostport
			case "udp":
				if a.UDP != "" {
					return Addr{}, fmt.Errorf("daemon address %q: udp given twice", s)
				}
				a.UDP = hostport
			default:
				return Addr{}, fmt.Errorf("daemon address %q: unknown protocol %q", s, proto)
			}
		}
		return a, nil
	default:
		return Addr{}, fmt.Errorf("daemon address %q: want host:port or \"tcp:host:port udp:host:port\"", s)
	}
}

func check(hostport string) error {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("daemon address %q: %w", hostport, err)
	}
	if host == "" || port == "" {
		return fmt.Errorf("daemon address %q: host and port are required", hostport)
	}
	return nil
}
