package server

import (
	"encoding/json"
	"net/http"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// providers serves GET /providers (admin): every route's health, and the
// routes of each catalogue entry.
func (s *Server) providers(w http.ResponseWriter, r *http.Request) error {
	if err := s.adminOnly(r); err != nil {
		return err
	}
	sn := s.current()
	type out struct {
		Data      any                 `json:"data"`
		Models    map[string][]string `json:"models"`
		Providers []string            `json:"providers"`
	}
	names := make([]string, 0, len(sn.cfg.Providers))
	for _, p := range sn.cfg.Providers {
		names = append(names, p.Name)
	}
	b, err := json.Marshal(out{sn.relay.Health.Snapshot(), catalogueRoutes(sn.cfg), names})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
	return nil
}

// enableRoute serves POST /providers/{provider/model}/enable (admin): lift a
// route disabled after the upstream refused the gateway's credentials.
func (s *Server) enableRoute(w http.ResponseWriter, r *http.Request, id string) error {
	if err := s.adminOnly(r); err != nil {
		return err
	}
	if !s.current().relay.Health.Enable(id) {
		return llm.NotFound("no route " + id + "; GET /api/v1/providers lists them")
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"data":{"id":` + jsonString(id) + `,"enabled":true}}`))
	return nil
}

func (s *Server) adminOnly(r *http.Request) error {
	_, err := s.admin.AdminOnly(r)
	return err
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
