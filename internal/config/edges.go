package config

import (
	"crypto/tls"
	"fmt"
	"net/netip"
	"strings"
)

// Load reads the certificate and key files as a pair. Its error names the
// files and what to do, never their contents.
func (t TLS) Load() (*tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("cannot load the certificate %s with the key %s: %v; give PEM files of a certificate (its chain after it) and of its private key, readable by the gateway", t.CertFile, t.KeyFile, err)
	}
	return &c, nil
}

// ParseProxy reads one server.trusted_proxies entry: an IP address (a
// one-address block) or a CIDR block.
func ParseProxy(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
