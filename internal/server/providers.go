package server

import (
	"encoding/json"
	"net/http"

	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// providers serves GET /providers (admin): every route's health, and the
// routes of each catalogue entry.
func (s *Server) providers(w http.ResponseWriter, r *http.Request) error {
	if err := s.adminOnly(r); err != nil {
		return err
	}
	sn := s.current()
	type out struct {
		Data   any                 `json:"data"`
		Models map[string][]string `json:"models"`
	}
	b, err := json.Marshal(out{sn.relay.Health.Snapshot(), catalogueRoutes(sn.cfg)})
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
	k, err := s.keys.Admin(auth.Credential(r), s.now())
	if err != nil {
		return err
	}
	if k.Kind != store.KindAdmin {
		return llm.Forbidden("forbidden", "only the admin key can do this")
	}
	return nil
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
