package responses

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/sse"
)

// FuzzDecodeResponse: any upstream body decodes or is a provider error;
// what decodes is bounded, and reads back the same through the client
// side's EncodeResponse.
func FuzzDecodeResponse(f *testing.F) {
	addFiles(f, "testdata/decode_response/*.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeResponse(body)
		if err != nil {
			var e *llm.Error
			if !errors.As(err, &e) || e.Kind != llm.KindProvider || e.Status < 400 || e.Status >= 600 {
				t.Fatalf("error %#v for %q", err, body)
			}
			if len(e.Message) > maxErrorMessage {
				t.Fatalf("error message of %d bytes", len(e.Message))
			}
			return
		}
		if r.Message.Role != llm.RoleAssistant || len(r.ID) > maxUpstreamID || len(r.Model) > maxUpstreamID ||
			len(r.Message.Parts)+len(r.Message.ToolCalls) > maxOutputItems {
			t.Fatalf("decoded %+v", r)
		}
		if !utf8.ValidString(string(body)) {
			return // the encoder repairs invalid UTF-8, so the round trip is not exact
		}
		again, err := DecodeResponse(EncodeResponse(r, Options{}))
		if err != nil {
			t.Fatalf("the re-encoded answer does not decode: %v", err)
		}
		if !r.Usage.Present {
			again.Usage = r.Usage // EncodeResponse always writes usage
		}
		if !reflect.DeepEqual(again, r) {
			t.Fatalf("round trip differs:\n got %+v\nwant %+v", again, r)
		}
	})
}

// FuzzStreamDecoder: any upstream stream decodes into a well-formed event
// sequence (a start first, tool deltas only for started calls, nothing
// after an error or the end) or stops with an error, and the client
// side's StreamEncoder renders it.
func FuzzStreamDecoder(f *testing.F) {
	addFiles(f, "testdata/stream_decode/*.sse")
	f.Fuzz(func(t *testing.T, stream []byte) {
		var d StreamDecoder
		rd := sse.NewReader(bytes.NewReader(stream), 512)
		enc := newTestEncoder()
		var out []byte
		started, ended, finishes, tools := false, false, 0, 0
		for {
			data, err := rd.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, sse.ErrTooLarge) {
					t.Fatal(err)
				}
				break
			}
			wasComplete := d.Complete()
			evs, err := d.Event(string(rd.Event), data)
			if err != nil {
				break
			}
			if (wasComplete || ended) && len(evs) > 0 {
				t.Fatalf("events after the end: %+v", evs)
			}
			for _, ev := range evs {
				switch {
				case ev.Kind == llm.EventStart:
					if started {
						t.Fatal("a second start")
					}
					started = true
				case !started && ev.Kind != llm.EventError:
					t.Fatalf("%+v before the start", ev)
				}
				switch ev.Kind {
				case llm.EventToolCallStart:
					if ev.Index != tools || ev.ToolCall == nil {
						t.Fatalf("tool start %+v, want index %d", ev, tools)
					}
					tools++
				case llm.EventToolCallDelta:
					if ev.Index >= tools || ev.ToolCall == nil || ev.ToolCall.Arguments == "" {
						t.Fatalf("tool delta %+v with %d calls started", ev, tools)
					}
				case llm.EventFinish:
					if finishes++; finishes > 1 {
						t.Fatal("a second finish")
					}
				case llm.EventError:
					if ev.Error == nil {
						t.Fatal("an error event without an error")
					}
					ended = true
				}
				out = enc.Event(out, ev)
			}
		}
		checkSSE(t, enc.Close(out))
	})
}
