package server

import (
	"net"
	"testing"
)

func TestConnectionsAreCountedPerSourceAndInTotal(t *testing.T) {
	c := newConnCounter()
	if why := c.acquire("10.0.0.1", 3, 2); why != "" {
		t.Fatal(why)
	}
	if why := c.acquire("10.0.0.1", 3, 2); why != "" {
		t.Fatal(why)
	}
	if why := c.acquire("10.0.0.1", 3, 2); why != "server.max_connections_per_ip" {
		t.Fatalf("third from one source: %q", why)
	}
	if why := c.acquire("10.0.0.2", 3, 2); why != "" {
		t.Fatal(why)
	}
	if why := c.acquire("10.0.0.3", 3, 2); why != "server.max_connections" {
		t.Fatalf("fourth in total: %q", why)
	}
	c.release("10.0.0.1")
	if why := c.acquire("10.0.0.3", 3, 2); why != "" {
		t.Fatalf("after a release: %q", why)
	}
	if why := c.acquire("10.0.0.3", -1, -1); why != "" {
		t.Fatalf("-1 is no limit: %q", why)
	}
	if got := c.openConns(); got != 4 || c.refusedPerIP.Load() != 1 || c.refusedTotal.Load() != 1 {
		t.Fatalf("open %d, refused per ip %d, in total %d", got, c.refusedPerIP.Load(), c.refusedTotal.Load())
	}
	for _, src := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.3"} {
		c.release(src)
	}
	if got := c.openConns(); got != 0 || len(c.perIP) != 0 {
		t.Fatalf("after every release: open %d, sources %v", got, c.perIP)
	}
}

func TestIPv6SourcesAreCountedPerSlash64(t *testing.T) {
	key := func(ip string) string { return sourceKey(&net.TCPAddr{IP: net.ParseIP(ip), Port: 1234}) }
	if a, b := key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"); a != b {
		t.Fatalf("one /64 counted as two sources: %q, %q", a, b)
	}
	if a, b := key("2001:db8:1:2::1"), key("2001:db8:1:3::1"); a == b {
		t.Fatalf("two /64s counted as one: %q", a)
	}
	if got := key("::ffff:192.0.2.7"); got != "192.0.2.7" {
		t.Fatalf("IPv4-mapped address keyed %q", got)
	}
}
