package daemoncfg_test

import (
	"fmt"
	"testing"

	"github.com/openxray/xray/compat/daemoncfg"
)

func TestFromEnv(t *testing.T) {
	t.Setenv("AWS_XRAY_DAEMON_ADDRESS", "tcp:127.0.0.1:2100 udp:127.0.0.1:2200")
	d := daemoncfg.GetDaemonEndpoints()
	if d.TCPAddr.Port != 2100 || d.UDPAddr.Port != 2200 {
		t.Errorf("%v %v", d.TCPAddr, d.UDPAddr)
	}
	t.Setenv("AWS_XRAY_DAEMON_ADDRESS", "not an address")
	if _, err := daemoncfg.GetDaemonEndpointsFromEnv(); err == nil {
		t.Error("a bad address was accepted")
	}
	if d := daemoncfg.GetDaemonEndpoints(); d.UDPAddr.Port != 2000 {
		t.Errorf("fallback %v", d.UDPAddr)
	}
}

func ExampleGetDaemonEndpointsFromString() {
	d, err := daemoncfg.GetDaemonEndpointsFromString("127.0.0.1:3000")
	fmt.Println(d.UDPAddr, d.TCPAddr, err)
	// Output: 127.0.0.1:3000 127.0.0.1:3000 <nil>
}
