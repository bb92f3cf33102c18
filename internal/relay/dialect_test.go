package relay

import (
	"github.com/switchyard-gw/switchyard/internal/provider"
	"reflect"
	"testing"
)

// TestDialectsAreComplete: a dialect registered without one of its parts
// would fail at the first request that needs it; this fails at once.
func TestDialectsAreComplete(t *testing.T) {
	names := map[string]bool{}
	for _, d := range dialects {
		if d.Name == "" || names[d.Name] {
			t.Fatalf("dialect %q: a name of its own is required", d.Name)
		}
		names[d.Name] = true
		v := reflect.ValueOf(*d)
		for i := range v.NumField() {
			f, name := v.Field(i), v.Type().Field(i).Name
			switch name {
			case "Native", "passthrough", "missingKey", "prepare", "nativeOnly", "attempt":
				continue // optional: no native upstream; the key cache's own 401; nothing to load; every request translatable; the usual attempts
			case "decode", "encodeResponse", "newStream":
				if d.attempt != nil {
					continue // a dialect that serves its attempts itself translates no chat
				}
			}
			if f.IsZero() {
				t.Errorf("dialect %s has no %s", d.Name, name)
			}
		}
		if d.nativeOnly != nil && d.passthrough == nil {
			t.Errorf("dialect %s: a request only a passthrough serves needs a passthrough", d.Name)
		}
		if d.attempt != nil && (d.Native != 0 || d.passthrough != nil || d.prepare != nil || d.nativeOnly != nil) {
			t.Errorf("dialect %s serves its attempts itself: a native format, passthrough, prepare or nativeOnly would go unused", d.Name)
		}
		if (d.Native == 0) != (d.passthrough == nil) {
			t.Errorf("dialect %s: a native upstream format and a passthrough go together", d.Name)
		}
	}
}

// TestUpstreamFormatsAreComplete: every wire format a provider can have is
// one the relay can translate to, and every entry has all its parts (an
// encoder, a stream framing with its media type and reader).
func TestUpstreamFormatsAreComplete(t *testing.T) {
	for f := provider.FormatOpenAI; f.String() != "unknown"; f++ {
		if _, ok := upstreamFormats[f]; !ok {
			t.Errorf("format %s has no entry in upstreamFormats", f)
		}
	}
	for f, uf := range upstreamFormats {
		for _, v := range []reflect.Value{reflect.ValueOf(uf), reflect.ValueOf(uf.framing)} {
			for i := range v.NumField() {
				if v.Field(i).IsZero() {
					t.Errorf("upstream format %s has no %s.%s", f, v.Type().Name(), v.Type().Field(i).Name)
				}
			}
		}
		if uf.framing.NewReader != nil && uf.framing.NewReader(16) == nil {
			t.Errorf("upstream format %s: its framing makes no reader", f)
		}
	}
	if len(upstreamFormats) < 3 {
		t.Fatalf("only %d upstream formats", len(upstreamFormats))
	}
}
