package relay

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/api/anthropic"
	"github.com/switchyard-gw/switchyard/internal/api/gemini"
	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// The model list in Google's and Anthropic's shapes: the same catalogue
// as GET /v1/models, paged as each API pages it.

const (
	geminiPageSize    = 50   // Google's default pageSize
	anthropicPageSize = 20   // Anthropic's default limit
	maxModelPage      = 1000 // both APIs' largest page
)

func geminiInfo(o *ModelObject) gemini.ModelInfo {
	return gemini.ModelInfo{ID: o.ID, DisplayName: o.ID, InputTokenLimit: o.ContextLength, OutputTokenLimit: o.MaxOutput}
}

func (c *Catalogue) anthropicInfo(o *ModelObject) anthropic.ModelInfo {
	created := o.Created
	if created == 0 {
		created = c.at
	}
	return anthropic.ModelInfo{ID: o.ID, DisplayName: o.ID, CreatedAt: time.Unix(created, 0).UTC().Format(time.RFC3339),
		MaxInputTokens: o.ContextLength, MaxTokens: o.MaxOutput}
}

// pageParam reads a positive integer query parameter, def when absent.
func pageParam(q url.Values, name string, def int) (int, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, llm.BadRequest(name, "'%s' must be a whole number from 1 to %d", name, maxModelPage)
	}
	if n == 0 {
		return def, nil // Google: unset or 0 is the default
	}
	return min(n, maxModelPage), nil
}

// GeminiList serves GET /v1beta/models: pageSize (default 50, at most
// 1000) and pageToken, the nextPageToken of the page before (an offset
// into the list).
func (c *Catalogue) GeminiList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	size, err := pageParam(q, "pageSize", geminiPageSize)
	if err != nil {
		return err
	}
	from := 0
	if t := q.Get("pageToken"); t != "" {
		if from, err = strconv.Atoi(t); err != nil || from < 0 || from > len(c.items) {
			return llm.BadRequest("pageToken", "'pageToken' is not a token this gateway gave; start again without it")
		}
	}
	to := min(from+size, len(c.items))
	page := make([]gemini.ModelInfo, 0, to-from)
	for _, o := range c.items[from:to] {
		page = append(page, geminiInfo(o))
	}
	next := ""
	if to < len(c.items) {
		next = strconv.Itoa(to)
	}
	writeBody(w, gemini.EncodeModelList(page, next))
	return nil
}

// GeminiGet serves GET /v1beta/models/{model}: any name the gateway
// resolves, as GET /v1/models/{id} does.
func (c *Catalogue) GeminiGet(w http.ResponseWriter, r *http.Request, id string) error {
	o, err := c.lookup(strings.TrimPrefix(id, "models/"))
	if err != nil {
		return err
	}
	writeBody(w, gemini.EncodeModel(geminiInfo(o)))
	return nil
}

// AnthropicList serves GET /v1/models to a client that sends
// anthropic-version: limit (default 20, 1 to 1000), after_id and
// before_id, as Anthropic pages it.
func (c *Catalogue) AnthropicList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := pageParam(q, "limit", anthropicPageSize)
	if err != nil {
		return err
	}
	index := func(param string) (int, error) {
		id := q.Get(param)
		for i, o := range c.items {
			if o.ID == id {
				return i, nil
			}
		}
		return 0, llm.BadRequest(param, "'%s' names no model in the list: %q", param, id)
	}
	from, to := 0, len(c.items)
	switch {
	case q.Get("after_id") != "" && q.Get("before_id") != "":
		return llm.BadRequest("before_id", "send after_id or before_id, not both")
	case q.Get("after_id") != "":
		i, err := index("after_id")
		if err != nil {
			return err
		}
		from = i + 1
	case q.Get("before_id") != "":
		i, err := index("before_id")
		if err != nil {
			return err
		}
		to, from = i, max(0, i-limit)
	}
	more := false
	if to-from > limit {
		to, more = from+limit, true
	} else if q.Get("before_id") != "" {
		more = from > 0
	}
	page := make([]anthropic.ModelInfo, 0, to-from)
	for _, o := range c.items[from:to] {
		page = append(page, c.anthropicInfo(o))
	}
	writeBody(w, anthropic.EncodeModelList(page, more))
	return nil
}

// AnthropicGet serves GET /v1/models/{id} to a client that sends
// anthropic-version.
func (c *Catalogue) AnthropicGet(w http.ResponseWriter, r *http.Request, id string) error {
	o, err := c.lookup(id)
	if err != nil {
		return err
	}
	writeBody(w, anthropic.EncodeModel(c.anthropicInfo(o)))
	return nil
}

func writeBody(w http.ResponseWriter, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// GeminiKey authenticates a Gemini client's key (x-goog-api-key, ?key=
// or Authorization): Google's API answers nothing without one.
func (rl *Relay) GeminiKey(r *http.Request) (*store.Key, error) {
	cred := geminiCredential(r)
	if cred == "" {
		cred = auth.Credential(r)
	}
	k, err := rl.Keys.Caller(cred, rl.Now())
	if err != nil {
		return nil, err
	}
	return k, nil
}
