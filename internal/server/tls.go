package server

import (
	"crypto/tls"
	"sync/atomic"

	"github.com/switchyard-gw/switchyard/internal/config"
)

// Certificates is the server's TLS certificate (server.tls), read from its
// files at start and again by Reload, which SIGHUP calls: a renewed
// certificate is served to new connections without a restart.
type Certificates struct {
	files config.TLS
	cur   atomic.Pointer[tls.Certificate]
}

// LoadCertificates reads the certificate and key files of t.
func LoadCertificates(t config.TLS) (*Certificates, error) {
	c := &Certificates{files: t}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads the files again; if they do not make a pair, the
// certificate in use stays and the error says why.
func (c *Certificates) Reload() error {
	cert, err := c.files.Load()
	if err != nil {
		return err
	}
	c.cur.Store(cert)
	return nil
}

// TLSConfig serves the current certificate, TLS 1.2 and later.
func (c *Certificates) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.cur.Load(), nil
		},
	}
}
