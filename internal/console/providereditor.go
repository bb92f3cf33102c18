package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/money"
)

// providerTypes are the provider types the add form offers.
var providerTypes = []string{"openai", "anthropic", "gemini", "azure", "mock"}

// providerEntry is GET /api/v1/providers/{name}: a provider with where it
// is defined. The API never returns the key, only api_key_set.
type providerEntry struct {
	Name      string   `json:"name"`
	Source    string   `json:"source"`
	File      string   `json:"file"`
	Type      string   `json:"type"`
	BaseURL   string   `json:"base_url"`
	APIKeySet bool     `json:"api_key_set"`
	Models    []string `json:"models"`
	Pricing   *struct {
		Prompt     json.Number `json:"prompt"`
		Completion json.Number `json:"completion"`
	} `json:"pricing"`
	UpdatedAt string `json:"updated_at"`
}

// PromptPrice and CompletionPrice are the default prices per million
// tokens as "$2.50" ("" when none).
func (p providerEntry) PromptPrice() string {
	if p.Pricing == nil {
		return ""
	}
	return priceOf(p.Pricing.Prompt)
}

func (p providerEntry) CompletionPrice() string {
	if p.Pricing == nil {
		return ""
	}
	return priceOf(p.Pricing.Completion)
}

// priceOf shows a configured price per million tokens as "$2.50".
func priceOf(n json.Number) string {
	if n == "" {
		return "–"
	}
	v, err := money.ParseUSD(string(n))
	if err != nil {
		return string(n)
	}
	return usdGrouped(v)
}

// Editable: the provider was added through the API (the file's and the
// environment's are read-only).
func (p providerEntry) Editable() bool { return p.Source == "api" }

// catalogEntry is an item of GET /api/v1/catalog/models.
type catalogEntry struct {
	ID     string `json:"id"`
	Source string `json:"source"`
	Routes []any  `json:"routes"`
}

// RouteList renders the model's routes as "provider/model, …": the file's
// come as strings, the API's as the objects they were given as.
func (m catalogEntry) RouteList() string {
	parts := make([]string, 0, len(m.Routes))
	for _, r := range m.Routes {
		switch v := r.(type) {
		case string: // "provider/model", "provider/" when the model is the id
			parts = append(parts, strings.TrimSuffix(v, "/"))
		case map[string]any:
			s, _ := v["provider"].(string)
			if mo, _ := v["model"].(string); mo != "" {
				s += "/" + mo
			}
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}

// providerForm is the add and edit forms' fields as typed (never the key).
type providerForm struct {
	Name, Type, BaseURL, Models, Prompt, Completion string
}

// modelForm is the add-a-model form as typed.
type modelForm struct{ ID, Routes string }

// providerEditing is the editing section of the Providers page (admin).
type providerEditing struct {
	Providers []providerEntry
	Models    []catalogEntry
	Types     []string
	Add       providerForm
	AddModel  modelForm
	// Done says what the last change did.
	Done string
}

// loadProviderEditing reads every provider (named by GET /api/v1/providers)
// and the catalogue's models for the editing section.
func (c *Console) loadProviderEditing(r *http.Request, s *session, names []string, e *providerEditing) error {
	e.Types = providerTypes
	sort.Strings(names)
	for _, n := range names {
		var one struct {
			Data providerEntry `json:"data"`
		}
		if err := c.call(r, s, http.MethodGet, "/providers/"+url.PathEscape(n), nil, &one); err != nil {
			return err
		}
		if one.Data.Name == "" {
			one.Data.Name = n
		}
		e.Providers = append(e.Providers, one.Data)
	}
	var models struct {
		Data []catalogEntry `json:"data"`
	}
	if err := c.call(r, s, http.MethodGet, "/catalog/models", nil, &models); err != nil {
		return err
	}
	e.Models = models.Data
	return nil
}

// request turns the form into the API's JSON body; forEdit leaves out the
// name. It says what is wrong, or "".
func (f providerForm) request(forEdit bool) (map[string]any, string) {
	body := map[string]any{}
	if !forEdit {
		if f.Name == "" {
			return nil, "A provider needs a name."
		}
		body["name"] = f.Name
	}
	if f.Type != "" {
		body["type"] = f.Type
	}
	if f.BaseURL != "" || forEdit {
		body["base_url"] = f.BaseURL
	}
	models := splitList(f.Models)
	if len(models) > 0 {
		body["models"] = models
	} else if forEdit {
		body["models"] = nil
	}
	if f.Prompt == "" && f.Completion == "" {
		if forEdit {
			body["pricing"] = nil
		}
		return body, ""
	}
	pricing := map[string]any{}
	for _, p := range []struct{ name, v string }{{"prompt", f.Prompt}, {"completion", f.Completion}} {
		if p.v == "" {
			continue
		}
		if n, err := money.ParseUSD(p.v); err != nil || n < 0 {
			return nil, fmt.Sprintf("The %s price must be an amount of USD per million tokens, such as 2.50.", p.name)
		}
		pricing[p.name] = json.Number(p.v)
	}
	body["pricing"] = pricing
	return body, ""
}

// splitList splits a comma- or space-separated list.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

func providerFormOf(r *http.Request) providerForm {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	return providerForm{Name: v("name"), Type: v("type"), BaseURL: v("base_url"), Models: v("models"), Prompt: v("prompt"), Completion: v("completion")}
}

// addProvider serves POST /console/providers/add: POST /api/v1/providers.
func (c *Console) addProvider(w http.ResponseWriter, r *http.Request, s *session) {
	f := providerFormOf(r)
	body, msg := f.request(false)
	if msg != "" {
		c.renderProviders(w, r, s, http.StatusBadRequest, msg, &providerEditing{Add: f})
		return
	}
	if k := r.PostFormValue("api_key"); k != "" {
		body["api_key"] = k
	}
	if err := c.call(r, s, http.MethodPost, "/providers", body, nil); err != nil {
		c.renderProviders(w, r, s, statusOf(err), "Adding the provider failed: "+err.Error(), &providerEditing{Add: f})
		return
	}
	doneRedirect(w, r, "added", f.Name)
}

// editProvider serves POST /console/providers/edit: PATCH
// /api/v1/providers/{name}; the key is replaced only when one is typed.
func (c *Console) editProvider(w http.ResponseWriter, r *http.Request, s *session) {
	f := providerFormOf(r)
	body, msg := f.request(true)
	if msg != "" {
		c.renderProviders(w, r, s, http.StatusBadRequest, msg, &providerEditing{})
		return
	}
	if k := r.PostFormValue("api_key"); k != "" {
		body["api_key"] = k
	}
	if err := c.call(r, s, http.MethodPatch, "/providers/"+url.PathEscape(f.Name), body, nil); err != nil {
		c.renderProviders(w, r, s, statusOf(err), "Changing provider "+f.Name+" failed: "+err.Error(), &providerEditing{})
		return
	}
	doneRedirect(w, r, "changed", f.Name)
}

// deleteProvider serves POST /console/providers/delete: DELETE
// /api/v1/providers/{name} (a 409 while a model routes to it is shown).
func (c *Console) deleteProvider(w http.ResponseWriter, r *http.Request, s *session) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	if err := c.call(r, s, http.MethodDelete, "/providers/"+url.PathEscape(name), nil, nil); err != nil {
		c.renderProviders(w, r, s, statusOf(err), "Deleting provider "+name+" failed: "+err.Error(), &providerEditing{})
		return
	}
	doneRedirect(w, r, "deleted", name)
}

// addModel serves POST /console/providers/models: POST
// /api/v1/catalog/models with the id and routes ("provider" or
// "provider/upstream-model", comma-separated).
func (c *Console) addModel(w http.ResponseWriter, r *http.Request, s *session) {
	f := modelForm{ID: strings.TrimSpace(r.PostFormValue("id")), Routes: strings.TrimSpace(r.PostFormValue("routes"))}
	routes := []map[string]string{}
	for _, rt := range splitList(f.Routes) {
		p, m, _ := strings.Cut(rt, "/")
		route := map[string]string{"provider": p}
		if m != "" {
			route["model"] = m
		}
		routes = append(routes, route)
	}
	if f.ID == "" || len(routes) == 0 {
		c.renderProviders(w, r, s, http.StatusBadRequest, "A model needs an id and at least one route.", &providerEditing{AddModel: f})
		return
	}
	if err := c.call(r, s, http.MethodPost, "/catalog/models", map[string]any{"id": f.ID, "routes": routes}, nil); err != nil {
		c.renderProviders(w, r, s, statusOf(err), "Adding the model failed: "+err.Error(), &providerEditing{AddModel: f})
		return
	}
	doneRedirect(w, r, "model-added", f.ID)
}

// deleteModel serves POST /console/providers/models/delete: DELETE
// /api/v1/catalog/models/{id}.
func (c *Console) deleteModel(w http.ResponseWriter, r *http.Request, s *session) {
	id := strings.TrimSpace(r.PostFormValue("id"))
	if err := c.call(r, s, http.MethodDelete, "/catalog/models/"+url.PathEscape(id), nil, nil); err != nil {
		c.renderProviders(w, r, s, statusOf(err), "Deleting model "+id+" failed: "+err.Error(), &providerEditing{})
		return
	}
	doneRedirect(w, r, "model-deleted", id)
}

// doneMessages are what the page says after a change (?done=…&name=…).
var doneMessages = map[string]string{
	"added": "Provider %s added.", "changed": "Provider %s changed.", "deleted": "Provider %s deleted.",
	"model-added": "Model %s added.", "model-deleted": "Model %s deleted.",
}

// doneRedirect sends the browser back to the page, which says what changed.
func doneRedirect(w http.ResponseWriter, r *http.Request, done, name string) {
	http.Redirect(w, r, "/console/providers?done="+done+"&name="+url.QueryEscape(name), http.StatusSeeOther)
}
