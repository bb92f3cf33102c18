package relay

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/routing"
)

// ModelObject is GET /models' item: OpenAI's Model object plus the
// OpenRouter fields clients read (pricing per token as decimal strings,
// context_length).
type ModelObject struct {
	ID            string        `json:"id"`
	Object        string        `json:"object"`
	Created       int64         `json:"created"`
	OwnedBy       string        `json:"owned_by"`
	ContextLength int           `json:"context_length,omitempty"`
	MaxOutput     int           `json:"max_output_tokens,omitempty"`
	Pricing       *ModelPricing `json:"pricing,omitempty"`
}

// ModelPricing is USD per token, as decimal strings (OpenRouter's shape).
type ModelPricing struct {
	Prompt          string `json:"prompt"`
	Completion      string `json:"completion"`
	InputCacheRead  string `json:"input_cache_read,omitempty"`
	InputCacheWrite string `json:"input_cache_write,omitempty"`
}

// Catalogue is the model list, computed once from the config: it is the
// same for every request, so its JSON is rendered once too.
type Catalogue struct {
	byID  map[string]*ModelObject
	items []*ModelObject // byID's values, in list order
	list  []byte
	res   *routing.Resolver
	cfg   *config.Config
	at    int64
}

// NewCatalogue lists the catalogue's non-pattern entries, then each
// provider's exposed models: by bare id when resolving that id reaches the
// same provider and model, else as PROVIDER/MODEL.
func NewCatalogue(cfg *config.Config, res *routing.Resolver, providerModels map[string][]string, created int64) *Catalogue {
	c := &Catalogue{byID: map[string]*ModelObject{}, res: res, cfg: cfg, at: created}
	var items []*ModelObject
	add := func(m *ModelObject) {
		if _, dup := c.byID[m.ID]; dup {
			return
		}
		c.byID[m.ID] = m
		items = append(items, m)
	}
	for i := range cfg.Models {
		m := &cfg.Models[i]
		if strings.Contains(m.ID, "*") {
			continue
		}
		add(c.entryObject(m.ID, m))
	}
	for _, p := range cfg.Providers {
		for _, name := range providerModels[p.Name] {
			id := p.Name + "/" + name
			if r, err := res.Resolve(name); err == nil && len(r.Targets) > 0 && r.Targets[0].Provider == p.Name && r.Targets[0].Model == name {
				id = name
				if r.Entry != nil && !strings.Contains(r.Entry.ID, "*") {
					continue // listed with its catalogue entry already
				}
				obj := c.entryObject(id, r.Entry)
				obj.OwnedBy = p.Name
				if r.Entry == nil || r.Entry.Pricing == nil {
					obj.Pricing = c.price(p.Pricing)
				}
				add(obj)
				continue
			}
			add(&ModelObject{ID: id, Object: "model", Created: created, OwnedBy: p.Name, Pricing: c.price(p.Pricing)})
		}
	}
	type list struct {
		Object string         `json:"object"`
		Data   []*ModelObject `json:"data"`
	}
	if items == nil {
		items = []*ModelObject{}
	}
	c.items = items
	c.list, _ = json.Marshal(list{Object: "list", Data: items})
	return c
}

func (c *Catalogue) entryObject(id string, m *config.Model) *ModelObject {
	o := &ModelObject{ID: id, Object: "model", Created: c.at}
	if m == nil {
		o.Pricing = c.price(nil)
		return o
	}
	o.OwnedBy = m.OwnedBy
	if o.OwnedBy == "" && len(m.Routes) > 0 {
		o.OwnedBy = m.Routes[0].Provider
	}
	o.ContextLength = m.ContextLength
	o.MaxOutput = m.MaxOutputTokens
	o.Pricing = c.price(m.Pricing)
	return o
}

func (c *Catalogue) price(p *config.Pricing) *ModelPricing {
	if p == nil {
		if c.cfg.Billing.Unpriced == "reject" {
			return nil
		}
		return &ModelPricing{Prompt: "0", Completion: "0"}
	}
	mp := &ModelPricing{Prompt: perToken(p.Prompt), Completion: perToken(p.Completion)}
	if p.CachedPrompt > 0 {
		mp.InputCacheRead = perToken(p.CachedPrompt)
	}
	if p.CacheWrite > 0 {
		mp.InputCacheWrite = perToken(p.CacheWrite)
	}
	return mp
}

// perToken renders a per-million price in nano-USD as USD per token:
// nano-USD per million tokens is 1e-15 USD per token, exactly.
func perToken(perM money.Nanos) string {
	if perM <= 0 {
		return "0"
	}
	digits := []byte(money.Nanos(perM).String()) // whole dollars per 1M, maybe with a fraction
	// Shift the decimal point six places left.
	whole, frac, _ := strings.Cut(string(digits), ".")
	for len(whole) <= 6 {
		whole = "0" + whole
	}
	s := whole[:len(whole)-6] + "." + whole[len(whole)-6:] + frac
	s = strings.TrimRight(s, "0")
	s = strings.TrimRight(s, ".")
	return s
}

// List serves GET /models.
func (c *Catalogue) List(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(c.list)
	return nil
}

// Get serves GET /models/{id}. A name that only a pattern or a
// PROVIDER/MODEL form resolves still gets an object, so clients that check
// a model id before using it accept every name the gateway serves.
func (c *Catalogue) Get(w http.ResponseWriter, r *http.Request, id string) error {
	obj, err := c.lookup(id)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(obj)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
	return nil
}

// lookup finds a listed model or makes the object of a name the resolver
// knows.
func (c *Catalogue) lookup(id string) (*ModelObject, error) {
	if obj, ok := c.byID[id]; ok {
		return obj, nil
	}
	res, err := c.res.Resolve(id)
	if err != nil {
		return nil, llm.ModelNotFound("The model '" + id + "' does not exist on this gateway. List the models you can use with GET /v1/models.")
	}
	obj := c.entryObject(id, res.Entry)
	if res.Entry == nil && len(res.Targets) > 0 {
		obj.OwnedBy = res.Targets[0].Provider
	}
	return obj, nil
}
