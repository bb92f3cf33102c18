package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/audit"
	"github.com/switchyard-gw/switchyard/internal/cluster"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/secretkey"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// The catalog: providers and models added through the management API,
// kept in the store (store.Catalog) and merged after the config file's
// entries every time a snapshot is built: at start, at every reload and
// after every catalog write (here, or on another instance, which
// announces it as cluster.Catalog). A provider's key is stored sealed
// under the secret key (package secretkey) and opened only into the
// merged config, as a config.Secret, so every redaction that covers the
// file's keys covers these.

// catalogOf is st's catalog, or nil for a store without one.
func catalogOf(st any) store.Catalog {
	c, _ := st.(store.Catalog)
	return c
}

// merged is a file config with the catalog's entries.
type merged struct {
	cfg  *config.Config
	ring *secretkey.Ring
	// print fingerprints the entries merged, so the periodic refresh
	// rebuilds only when the catalog changed.
	print string
}

// mergeCatalog puts the store's catalog after file's entries. An entry
// whose name the file also uses is left out (the file wins), with a warning.
func mergeCatalog(ctx context.Context, cat store.Catalog, file *config.Config, log *slog.Logger) (*merged, error) {
	ring, err := file.Security.SecretKeys()
	if err != nil {
		return nil, err
	}
	if cat == nil {
		return &merged{cfg: file, ring: ring}, nil
	}
	entries, err := cat.CatalogEntries(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the providers and models added through the API: %w", err)
	}
	return mergeEntries(file, ring, entries, log)
}

func mergeEntries(file *config.Config, ring *secretkey.Ring, entries []store.CatalogEntry, log *slog.Logger) (*merged, error) {
	var (
		ps []config.Provider
		ms []config.Model
	)
	for _, e := range entries {
		switch e.Kind {
		case store.EntryProvider:
			if _, clash := file.Provider(e.ID); clash {
				log.Warn("a provider added through the API has the name of one in the config file; the file's is used", slog.String("provider", e.ID), slog.String("config", file.Source))
				continue
			}
			p, err := config.ParseProvider(e.Spec)
			if err != nil {
				return nil, fmt.Errorf("provider %q stored through the API: %w", e.ID, err)
			}
			p.Name = e.ID
			if !e.Key.IsZero() {
				v, err := ring.Open(e.Key.KeyID, e.Key.Sealed, store.KeyAAD(e.Kind, e.ID))
				if err != nil {
					return nil, fmt.Errorf("provider %q stored through the API: its api_key: %w", e.ID, err)
				}
				p.APIKey = config.Secret(v)
			}
			ps = append(ps, *p)
		case store.EntryModel:
			if fileModel(file, e.ID) != nil {
				log.Warn("a model added through the API has the id of one in the config file; the file's is used", slog.String("model", e.ID), slog.String("config", file.Source))
				continue
			}
			m, err := config.ParseModel(e.Spec)
			if err != nil {
				return nil, fmt.Errorf("model %q stored through the API: %w", e.ID, err)
			}
			m.ID = e.ID
			ms = append(ms, *m)
		}
	}
	cfg, err := file.WithCatalog(ps, ms)
	if err != nil {
		return nil, err
	}
	return &merged{cfg: cfg, ring: ring, print: fingerprint(entries)}, nil
}

// fingerprint names the catalog's state: each entry and when it changed.
func fingerprint(entries []store.CatalogEntry) string {
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "%s/%s@%d;", e.Kind, e.ID, e.UpdatedAt.UnixNano())
	}
	return b.String()
}

func fileModel(file *config.Config, id string) *config.Model {
	for i := range file.Models {
		if file.Models[i].ID == id {
			return &file.Models[i]
		}
	}
	return nil
}

// reloadCatalog rebuilds the snapshot from the running file config and
// the store's catalog as it is now.
func (s *Server) reloadCatalog(ctx context.Context) error {
	_, err := s.apply(ctx, s.current().file)
	return err
}

// refreshCatalog reloads when the stored catalog differs from the one in
// effect: the safety net for a lost cluster notice, and the only way
// instances without Redis learn of each other's writes.
func (s *Server) refreshCatalog(ctx context.Context) {
	cat := catalogOf(s.store)
	if cat == nil {
		return
	}
	entries, err := cat.CatalogEntries(ctx)
	if err != nil || fingerprint(entries) == s.current().catalogPrint {
		return
	}
	if err := s.reloadCatalog(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("providers and models changed through the API could not be applied here; the running config stays", slog.String("error", err.Error()))
	}
}

// catalogWrite is one change to the catalog: check the catalog it would
// make, write it, put it in effect here and tell the other instances.
func (s *Server) catalogWrite(ctx context.Context, change store.CatalogEntry, del bool, write func(store.Catalog) error) error {
	cat := catalogOf(s.store)
	if cat == nil {
		return &llm.Error{Kind: llm.KindGateway, Status: http.StatusNotImplemented, Type: "server_error", Code: "not_implemented",
			Message: "this gateway's store keeps no providers or models"}
	}
	s.catalogMu.Lock()
	defer s.catalogMu.Unlock()
	sn := s.current()
	entries, err := cat.CatalogEntries(ctx)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(entries, func(e store.CatalogEntry) bool { return e.Kind == change.Kind && e.ID == change.ID })
	switch {
	case del && i >= 0:
		entries = slices.Delete(entries, i, i+1)
	case i >= 0:
		entries[i] = change
	default:
		entries = append(entries, change)
	}
	m, err := mergeEntries(sn.file, sn.ring, entries, slog.New(slog.DiscardHandler))
	if err == nil {
		_, err = buildProviders(m.cfg, s.transport, slog.New(slog.DiscardHandler))
	}
	if err != nil {
		status := http.StatusBadRequest
		if del {
			status = http.StatusConflict // something else still needs it
		}
		return &llm.Error{Kind: llm.KindCaller, Status: status, Type: "invalid_request_error", Code: "invalid_config",
			Message: fmt.Sprintf("%s %q not changed: %v", change.Kind, change.ID, err)}
	}
	if err := write(cat); err != nil {
		return err
	}
	if err := s.reloadCatalog(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	if s.bus != nil {
		s.bus.Publish(context.WithoutCancel(ctx), cluster.Catalog)
	}
	return nil
}

// entryBody is a create or patch request: the entry's settings in the
// config file's vocabulary, plus name (id) and, for providers, api_key.
type entryBody struct {
	fields map[string]json.RawMessage
	id     string
	idSet  bool
	key    *string // nil: not given; "" with keyNull: remove
	keyNil bool
}

func readEntryBody(r *http.Request, idField string, withKey bool) (*entryBody, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxCatalogBody+1))
	if err != nil {
		var e *llm.Error
		if errors.As(err, &e) {
			return nil, e
		}
		return nil, llm.BadRequest("", "reading the request body failed")
	}
	if len(b) > maxCatalogBody {
		return nil, llm.TooLarge(maxCatalogBody)
	}
	out := &entryBody{}
	if err := json.Unmarshal(b, &out.fields); err != nil || out.fields == nil {
		return nil, llm.BadRequest("", "the request body must be a JSON object")
	}
	if raw, ok := out.fields[idField]; ok {
		if err := json.Unmarshal(raw, &out.id); err != nil {
			return nil, llm.BadRequest(idField, "%s must be a string", idField)
		}
		out.idSet = true
		delete(out.fields, idField)
	}
	if raw, ok := out.fields["api_key"]; ok && withKey {
		delete(out.fields, "api_key")
		if string(raw) == "null" {
			out.keyNil = true
		} else {
			var k string
			if err := json.Unmarshal(raw, &k); err != nil {
				return nil, llm.BadRequest("api_key", "api_key must be a string, or null to remove it")
			}
			out.key = &k
		}
	}
	return out, nil
}

const maxCatalogBody = 1 << 20

// seal seals a provider key given through the API, or says how to
// configure the secret key that storing one needs.
func (s *Server) seal(kind, id, key string) (store.SealedKey, error) {
	ring := s.current().ring
	if ring == nil || ring.Current == nil {
		return store.SealedKey{}, llm.BadRequest("api_key", "this gateway has no secret key to encrypt provider keys with, so it stores none; %s", secretkey.HowToSet)
	}
	sealed, err := ring.Current.Seal(key, store.KeyAAD(kind, id))
	if err != nil {
		return store.SealedKey{}, err
	}
	return store.SealedKey{KeyID: ring.Current.ID(), Sealed: sealed}, nil
}

// readOnly is the answer to a write of an entry the config file defines.
func readOnly(kind, id, source string) *llm.Error {
	where := "the config file " + source
	if source == config.DefaultsSource {
		where = "the environment"
	}
	return &llm.Error{Kind: llm.KindCaller, Status: http.StatusConflict, Type: "invalid_request_error", Code: "read_only",
		Message: fmt.Sprintf("%s %q is defined by %s, so the API cannot change it; edit it there and POST /api/v1/admin/reload", kind, id, where)}
}

// storedEntry finds the stored entry of kind and id.
func (s *Server) storedEntry(ctx context.Context, kind, id string) (*store.CatalogEntry, error) {
	cat := catalogOf(s.store)
	if cat == nil {
		return nil, nil
	}
	entries, err := cat.CatalogEntries(ctx)
	if err != nil {
		return nil, err
	}
	for i := range entries {
		if entries[i].Kind == kind && entries[i].ID == id {
			return &entries[i], nil
		}
	}
	return nil, nil
}

// entryView is how the API shows an entry: its settings as given, and
// never its key (api_key_set says whether there is one).
func entryView(e *store.CatalogEntry, idField string, withKey bool) map[string]any {
	out := map[string]any{}
	_ = json.Unmarshal(e.Spec, &out)
	out[idField] = e.ID
	out["source"] = "api"
	if withKey {
		out["api_key_set"] = !e.Key.IsZero()
	}
	out["created_at"] = e.CreatedAt.UTC().Format(time.RFC3339)
	out["updated_at"] = e.UpdatedAt.UTC().Format(time.RFC3339)
	return out
}

// patchSpec applies a JSON merge patch (null removes a setting) to spec.
func patchSpec(spec []byte, patch map[string]json.RawMessage) ([]byte, error) {
	cur := map[string]json.RawMessage{}
	if err := json.Unmarshal(spec, &cur); err != nil {
		return nil, err
	}
	for k, v := range patch {
		if string(v) == "null" {
			delete(cur, k)
		} else {
			cur[k] = v
		}
	}
	return json.Marshal(cur)
}

func writeData(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(struct {
		Data any `json:"data"`
	}{v})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return nil
}

// createEntry serves POST /providers and POST /catalog/models.
func (s *Server) createEntry(kind, idField string) handlerFunc {
	withKey := kind == store.EntryProvider
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := s.adminOnly(r); err != nil {
			return err
		}
		body, err := readEntryBody(r, idField, withKey)
		if err != nil {
			return err
		}
		if !body.idSet || body.id == "" {
			return llm.BadRequest(idField, "%s is required", idField)
		}
		if source, ok := s.fileDefines(kind, body.id); ok {
			return readOnly(kind, body.id, source)
		}
		spec, _ := json.Marshal(body.fields)
		e := store.CatalogEntry{Kind: kind, ID: body.id, Spec: spec}
		if body.key != nil && *body.key != "" {
			if e.Key, err = s.seal(kind, body.id, *body.key); err != nil {
				return err
			}
		}
		err = s.catalogWrite(r.Context(), e, false, func(cat store.Catalog) error { return cat.CreateCatalogEntry(r.Context(), &e) })
		if errors.Is(err, store.ErrConflict) {
			return &llm.Error{Kind: llm.KindCaller, Status: http.StatusConflict, Type: "invalid_request_error", Code: "conflict", Param: idField,
				Message: fmt.Sprintf("%s %q already exists; PATCH it to change it", kind, body.id)}
		}
		if err != nil {
			return err
		}
		s.log.Info(kind+" added through the API", slog.String(idField, e.ID), slog.String("request_id", w.Header().Get("X-Request-Id")))
		audit.Describe(r.Context(), e.ID, "", nil, entryView(&e, idField, withKey))
		return writeData(w, http.StatusCreated, entryView(&e, idField, withKey))
	}
}

// fileDefines says whether the file config (or the environment) defines
// the entry, and where.
func (s *Server) fileDefines(kind, id string) (string, bool) {
	file := s.current().file
	if kind == store.EntryProvider {
		if p, ok := file.Provider(id); ok {
			if p.FromEnv {
				return config.DefaultsSource, true
			}
			return file.Source, true
		}
		return "", false
	}
	if fileModel(file, id) != nil {
		return file.Source, true
	}
	return "", false
}

// getEntry serves GET /providers/{name} and GET /catalog/models/{id...}.
func (s *Server) getEntry(kind, idField string) func(http.ResponseWriter, *http.Request, string) error {
	withKey := kind == store.EntryProvider
	return func(w http.ResponseWriter, r *http.Request, id string) error {
		if err := s.adminOnly(r); err != nil {
			return err
		}
		if source, ok := s.fileDefines(kind, id); ok {
			return writeData(w, http.StatusOK, s.fileView(kind, id, source))
		}
		e, err := s.storedEntry(r.Context(), kind, id)
		if err != nil {
			return err
		}
		if e == nil {
			return llm.NotFound(fmt.Sprintf("no %s %q", kind, id))
		}
		return writeData(w, http.StatusOK, entryView(e, idField, withKey))
	}
}

// fileView shows an entry of the config file: where it is and the
// settings that identify it, never its key.
func (s *Server) fileView(kind, id, source string) map[string]any {
	file := s.current().file
	out := map[string]any{"source": "file", "file": source}
	if source == config.DefaultsSource {
		out["source"], out["file"] = "environment", nil
	}
	if kind == store.EntryProvider {
		p, _ := file.Provider(id)
		out["name"], out["type"], out["base_url"], out["api_key_set"] = p.Name, p.Type, p.BaseURL, p.APIKey != ""
		return out
	}
	m := fileModel(file, id)
	routes := make([]string, 0, len(m.Routes))
	for _, rt := range m.Routes {
		routes = append(routes, rt.Provider+"/"+rt.Model)
	}
	out["id"], out["aliases"], out["routes"] = m.ID, m.Aliases, routes
	return out
}

// patchEntry serves PATCH /providers/{name} and /catalog/models/{id...}:
// a JSON merge patch of the settings; api_key replaces the key (null
// removes it).
func (s *Server) patchEntry(kind, idField string) func(http.ResponseWriter, *http.Request, string) error {
	withKey := kind == store.EntryProvider
	return func(w http.ResponseWriter, r *http.Request, id string) error {
		if err := s.adminOnly(r); err != nil {
			return err
		}
		if source, ok := s.fileDefines(kind, id); ok {
			return readOnly(kind, id, source)
		}
		body, err := readEntryBody(r, idField, withKey)
		if err != nil {
			return err
		}
		if body.idSet && body.id != id {
			return llm.BadRequest(idField, "the %s cannot be renamed; create one with the new %s and delete this one", kind, idField)
		}
		e, err := s.storedEntry(r.Context(), kind, id)
		if err != nil {
			return err
		}
		if e == nil {
			return llm.NotFound(fmt.Sprintf("no %s %q", kind, id))
		}
		before := entryView(e, idField, withKey)
		if e.Spec, err = patchSpec(e.Spec, body.fields); err != nil {
			return err
		}
		switch {
		case body.keyNil || (body.key != nil && *body.key == ""):
			e.Key = store.SealedKey{}
		case body.key != nil:
			if e.Key, err = s.seal(kind, id, *body.key); err != nil {
				return err
			}
		}
		err = s.catalogWrite(r.Context(), *e, false, func(cat store.Catalog) error { return cat.UpdateCatalogEntry(r.Context(), e) })
		if errors.Is(err, store.ErrNotFound) {
			return llm.NotFound(fmt.Sprintf("no %s %q", kind, id))
		}
		if err != nil {
			return err
		}
		s.log.Info(kind+" changed through the API", slog.String(idField, id), slog.String("request_id", w.Header().Get("X-Request-Id")))
		audit.Describe(r.Context(), id, "", before, entryView(e, idField, withKey))
		return writeData(w, http.StatusOK, entryView(e, idField, withKey))
	}
}

// deleteEntry serves DELETE /providers/{name} and /catalog/models/{id...}.
func (s *Server) deleteEntry(kind, idField string) func(http.ResponseWriter, *http.Request, string) error {
	return func(w http.ResponseWriter, r *http.Request, id string) error {
		if err := s.adminOnly(r); err != nil {
			return err
		}
		if source, ok := s.fileDefines(kind, id); ok {
			return readOnly(kind, id, source)
		}
		e, err := s.storedEntry(r.Context(), kind, id)
		if err != nil {
			return err
		}
		if e == nil {
			return llm.NotFound(fmt.Sprintf("no %s %q", kind, id))
		}
		err = s.catalogWrite(r.Context(), *e, true, func(cat store.Catalog) error { return cat.DeleteCatalogEntry(r.Context(), kind, id) })
		if errors.Is(err, store.ErrNotFound) {
			return llm.NotFound(fmt.Sprintf("no %s %q", kind, id))
		}
		if err != nil {
			return err
		}
		s.log.Info(kind+" deleted through the API", slog.String(idField, id), slog.String("request_id", w.Header().Get("X-Request-Id")))
		audit.Describe(r.Context(), id, "", entryView(e, idField, kind == store.EntryProvider), nil)
		return writeData(w, http.StatusOK, map[string]any{idField: id, "deleted": true})
	}
}

// listModels serves GET /catalog/models: the config file's models and the
// API's, each with its source.
func (s *Server) listModels(w http.ResponseWriter, r *http.Request) error {
	if err := s.adminOnly(r); err != nil {
		return err
	}
	file := s.current().file
	out := []map[string]any{}
	for _, m := range file.Models {
		out = append(out, s.fileView(store.EntryModel, m.ID, file.Source))
	}
	if cat := catalogOf(s.store); cat != nil {
		entries, err := cat.CatalogEntries(r.Context())
		if err != nil {
			return err
		}
		for i := range entries {
			if entries[i].Kind == store.EntryModel && fileModel(file, entries[i].ID) == nil {
				out = append(out, entryView(&entries[i], "id", false))
			}
		}
	}
	return writeData(w, http.StatusOK, out)
}
