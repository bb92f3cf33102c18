package clientaddr

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientAddrTrustsForwardedForOnlyFromTrustedProxies(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, c := range []struct {
		peer, fwd string
		proxies   []netip.Prefix
		want      string
	}{
		{peer: "192.0.2.1:5000", fwd: "198.51.100.9", proxies: proxies, want: "192.0.2.1"},   // not a proxy: header ignored
		{peer: "10.1.2.3:5000", fwd: "198.51.100.9", proxies: proxies, want: "198.51.100.9"}, // one proxy
		{peer: "10.1.2.3:5000", fwd: "6.6.6.6, 198.51.100.9, 10.4.4.4", proxies: proxies, want: "198.51.100.9"},
		{peer: "10.1.2.3:5000", fwd: "", proxies: proxies, want: "10.1.2.3"}, // no header: the proxy itself
		{peer: "10.1.2.3:5000", fwd: "garbage, 198.51.100.9", proxies: proxies, want: "198.51.100.9"},
		{peer: "10.1.2.3:5000", fwd: "198.51.100.9, garbage", proxies: proxies, want: "10.1.2.3"}, // malformed right of it: stop
		{peer: "[::1]:5000", fwd: "2001:db8::7", proxies: proxies, want: "2001:db8::7"},
		{peer: "[::ffff:192.0.2.1]:5000", fwd: "", proxies: nil, want: "192.0.2.1"},
		{peer: "10.1.2.3:5000", fwd: "198.51.100.9", proxies: nil, want: "10.1.2.3"}, // none trusted
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = c.peer
		if c.fwd != "" {
			r.Header.Set("X-Forwarded-For", c.fwd)
		}
		if got := Of(r, c.proxies).String(); got != c.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %s, want %s", c.peer, c.fwd, got, c.want)
		}
	}
}

func TestPeerIsTheConnectionsAddressOrRemoteAddrAsItIs(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.1.2.3:5000"
	r.Header.Set("X-Forwarded-For", "198.51.100.9")
	if got := Peer(r); got != "10.1.2.3" {
		t.Errorf("Peer = %q, want the connection's address (no proxy trusted)", got)
	}
	r.RemoteAddr = "@"
	if got := Peer(r); got != "@" {
		t.Errorf("Peer of a Unix socket's request = %q", got)
	}
}

func TestSourceIsTheAddressOrItsSlash64(t *testing.T) {
	for in, want := range map[string]string{"192.0.2.7": "192.0.2.7", "2001:db8:1:2:ffff::9": "2001:db8:1:2::"} {
		if got := Source(netip.MustParseAddr(in)).String(); got != want {
			t.Errorf("Source(%s) = %s, want %s", in, got, want)
		}
	}
}
