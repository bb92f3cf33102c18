package server

import (
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// debugPprof serves the runtime profiles under /debug/pprof/ to the admin
// key only: profiles expose memory contents and cost CPU to produce. The
// index is /debug/pprof (the path clean-up takes the trailing slash off).
func (s *Server) debugPprof(w http.ResponseWriter, r *http.Request) error {
	if err := s.adminOnly(r); err != nil {
		return err
	}
	name := r.PathValue("profile")
	switch name {
	case "cmdline":
		pprof.Cmdline(w, r)
	case "profile":
		pprof.Profile(w, r)
	case "symbol":
		pprof.Symbol(w, r)
	case "trace":
		pprof.Trace(w, r)
	case "":
		pprof.Index(w, r)
	default:
		pprof.Handler(name).ServeHTTP(w, r)
	}
	return nil
}

// serveMetrics serves Prometheus metrics to the admin key (scrape with
// `authorization: {credentials: <admin key>}`): they reveal traffic and spend.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	if err := s.adminOnly(r); err != nil {
		return err
	}
	promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	return nil
}
