package provider

import (
	"strconv"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/switchyard-gw/switchyard/internal/config"
)

// quirks is what a preset (config.Presets) changes on the wire: request
// fields removed or renamed before a body is signed and sent, and the
// places a stream chunk may carry its usage. The zero value changes
// nothing and costs nothing.
type quirks struct {
	drop           []string
	dropInMessages []string
	rename         map[string]string
	usageAt        []string
}

func quirksOf(cfg *config.Provider) quirks {
	pr, ok := config.LookupPreset(cfg.Preset)
	if !ok {
		return quirks{}
	}
	return quirks{drop: pr.Drop, dropInMessages: pr.DropInMessages, rename: pr.Rename, usageAt: pr.UsageAt}
}

// adjust returns body with the preset's request adjustments; body itself
// when none applies (the common case allocates nothing).
func (q *quirks) adjust(body []byte) []byte {
	if len(q.drop) == 0 && len(q.rename) == 0 && len(q.dropInMessages) == 0 {
		return body
	}
	out := body
	for _, k := range q.drop {
		if gjson.GetBytes(out, k).Exists() {
			if b, err := sjson.DeleteBytes(out, k); err == nil {
				out = b
			}
		}
	}
	if len(q.dropInMessages) > 0 {
		out = dropInMessages(out, q.dropInMessages)
	}
	for from, to := range q.rename {
		v := gjson.GetBytes(out, from)
		if !v.Exists() {
			continue
		}
		b, err := sjson.DeleteBytes(out, from)
		if err != nil {
			continue
		}
		if !gjson.GetBytes(b, to).Exists() { // the service's own spelling wins
			if b, err = sjson.SetRawBytes(b, to, []byte(v.Raw)); err != nil {
				continue
			}
		}
		out = b
	}
	return out
}

// dropInMessages removes the fields from every element of "messages".
// Deleting a key leaves the array's indices as they were.
func dropInMessages(body []byte, fields []string) []byte {
	var paths []string
	i := 0
	gjson.GetBytes(body, "messages").ForEach(func(_, m gjson.Result) bool {
		for _, f := range fields {
			if m.IsObject() && m.Get(f).Exists() {
				paths = append(paths, "messages."+strconv.Itoa(i)+"."+f)
			}
		}
		i++
		return true
	})
	for _, p := range paths {
		if b, err := sjson.DeleteBytes(body, p); err == nil {
			body = b
		}
	}
	return body
}

// LiftUsage moves usage a stream chunk carries where the provider's
// service puts it (Groq's x_groq.usage, Moonshot's choices[0].usage) to
// the top level, where every reader looks. A chunk that already has a
// top-level usage, or none elsewhere, is returned as it is.
func (p *Provider) LiftUsage(chunk []byte) []byte {
	if len(p.quirks.usageAt) == 0 || gjson.GetBytes(chunk, "usage").IsObject() {
		return chunk
	}
	for _, path := range p.quirks.usageAt {
		u := gjson.GetBytes(chunk, path)
		if !u.IsObject() {
			continue
		}
		out, err := sjson.DeleteBytes(chunk, path)
		if err != nil {
			return chunk
		}
		if out, err = sjson.SetRawBytes(out, "usage", []byte(u.Raw)); err != nil {
			return chunk
		}
		return out
	}
	return chunk
}
