// Package daemoncfg is aws-xray-sdk-go's daemon address package on
// OpenXRay: the X-Ray daemon's UDP and TCP addresses, from
// AWS_XRAY_DAEMON_ADDRESS or a string in its format, parsed by the core
// (package github.com/openxray/xray/daemonaddr).
package daemoncfg

import (
	"net"
	"os"

	"github.com/openxray/xray/daemonaddr"
)

// DaemonEndpoints are the daemon's addresses: UDP for segments, TCP for the
// sampling API.
type DaemonEndpoints struct {
	UDPAddr *net.UDPAddr
	TCPAddr *net.TCPAddr
}

// GetDaemonEndpoints returns the addresses from AWS_XRAY_DAEMON_ADDRESS, or
// the default 127.0.0.1:2000 when it is unset or invalid.
func GetDaemonEndpoints() *DaemonEndpoints {
	if d, err := GetDaemonEndpointsFromEnv(); err == nil && d != nil {
		return d
	}
	return GetDefaultDaemonEndpoints()
}

// GetDaemonEndpointsFromEnv returns the addresses from
// AWS_XRAY_DAEMON_ADDRESS, or nil when it is unset.
func GetDaemonEndpointsFromEnv() (*DaemonEndpoints, error) {
	v := os.Getenv("AWS_XRAY_DAEMON_ADDRESS")
	if v == "" {
		return nil, nil
	}
	return GetDaemonEndpointsFromString(v)
}

// GetDefaultDaemonEndpoints returns 127.0.0.1:2000 for both protocols.
func GetDefaultDaemonEndpoints() *DaemonEndpoints {
	d, _ := GetDaemonEndpointsFromString(daemonaddr.Default)
	return d
}

// GetDaemonEndpointsFromString parses "host:port" or
// "tcp:host:port udp:host:port".
func GetDaemonEndpointsFromString(dAddr string) (*DaemonEndpoints, error) {
	a, err := daemonaddr.Parse(dAddr)
	if err != nil {
		return nil, err
	}
	udp, err := net.ResolveUDPAddr("udp", a.UDP)
	if err != nil {
		return nil, err
	}
	tcp, err := net.ResolveTCPAddr("tcp", a.TCP)
	if err != nil {
		return nil, err
	}
	return &DaemonEndpoints{UDPAddr: udp, TCPAddr: tcp}, nil
}
