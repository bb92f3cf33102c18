// Package clientaddr says which address a request came from, for the
// limits counted per client (failed authentications, sign-ins, code
// redemptions and exchanges, registrations, connections) and the audit
// log: one reading of it for the server, the management API and the
// console.
package clientaddr

import (
	"net/http"
	"net/netip"
	"strings"
)

// Of is the address of the client that sent r: the connection's peer, or,
// when the peer is a trusted proxy, the last address of X-Forwarded-For
// that is not itself a trusted proxy (each proxy appends the address it
// received the request from, so addresses left of the last untrusted one
// may be made up by the client). The zero Addr when r.RemoteAddr is not an
// IP address and port.
func Of(r *http.Request, proxies []netip.Prefix) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := ap.Addr().Unmap()
	if len(proxies) == 0 || !trusted(addr, proxies) {
		return addr
	}
	fwd := r.Header.Values("X-Forwarded-For")
	for i := len(fwd) - 1; i >= 0; i-- {
		parts := strings.Split(fwd[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return addr // a malformed entry: trust nothing left of it
			}
			addr = a.Unmap()
			if !trusted(addr, proxies) {
				return addr
			}
		}
	}
	return addr
}

// Peer is the connection's peer address as text (no proxy trusted): the
// default of the management API's and the console's client address when
// the server does not set one. A RemoteAddr that is not an IP address and
// port (a Unix socket's) is returned as it is.
func Peer(r *http.Request) string {
	if a := Of(r, nil); a.IsValid() {
		return a.String()
	}
	return r.RemoteAddr
}

// Source is the key an address is counted under: the address, and for
// IPv6 its /64, the block one host or one customer line usually gets.
func Source(a netip.Addr) netip.Addr {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

func trusted(a netip.Addr, proxies []netip.Prefix) bool {
	for _, p := range proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
