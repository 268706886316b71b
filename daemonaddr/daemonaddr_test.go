package daemonaddr

import "testing"

func TestParse(t *testing.T) {
	good := map[string]Addr{
		"":                                      {UDP: Default, TCP: Default},
		"10.0.0.1:3000":                         {UDP: "10.0.0.1:3000", TCP: "10.0.0.1:3000"},
		"xray-daemon:2000":                      {UDP: "xray-daemon:2000", TCP: "xray-daemon:2000"},
		"[::1]:2000":                            {UDP: "[::1]:2000", TCP: "[::1]:2000"},
		"tcp:127.0.0.1:2001 udp:127.0.0.1:2000": {UDP: "127.0.0.1:2000", TCP: "127.0.0.1:2001"},
		"udp:[::1]:2000 tcp:[fe80::1]:2001":     {UDP: "[::1]:2000", TCP: "[fe80::1]:2001"},
	}
	for in, want := range good {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"nohost", ":2000", "host:", "tcp:a:1", "tcp:a:1 tcp:b:2", "foo:a:1 udp:b:2", "a:1 b:2 c:3", "::1:2000", "tcp:a udp:b:1"} {
		if got, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", in, got)
		}
	}
}
