package responses

import (
	"slices"
	"testing"
)

func TestItemResponseID(t *testing.T) {
	for _, tc := range []struct {
		item, resp string
		ok         bool
	}{
		{"msg_gen-abc_0", "gen-abc", true},
		{"rs_gen-abc_12", "gen-abc", true},
		{"fc_resp_x_y_3", "resp_x_y", true},
		{"msg_gen-abc", "", false},    // no index
		{"msg_gen-abc_", "", false},   // empty index
		{"msg_gen-abc_1a", "", false}, // not a number
		{"msg__0", "", false},         // no response id
		{"item_gen-abc_0", "", false}, // not a kind the gateway names
		{"", "", false},
	} {
		got, ok := ItemResponseID(tc.item)
		if got != tc.resp || ok != tc.ok {
			t.Errorf("ItemResponseID(%q) = %q, %v; want %q, %v", tc.item, got, ok, tc.resp, tc.ok)
		}
	}
}

// TestItemReferencesAreReplacedByTheStoredItems: the Vercel AI SDK's
// second turn (an earlier answer sent back as a reference) becomes the
// request with that answer's message item in place, which decodes as an
// assistant turn.
func TestItemReferencesAreReplacedByTheStoredItems(t *testing.T) {
	body := []byte(`{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"What is my name?"}]},` +
		`{"type":"item_reference","id":"msg_gen-1_0"},{"id":"msg_gen-9_0"},` +
		`{"role":"user","content":[{"type":"input_text","text":"And again?"}]}]}`)
	if got := ItemReferences(body); !slices.Equal(got, []string{"msg_gen-1_0", "msg_gen-9_0"}) {
		t.Fatalf("ItemReferences = %q", got)
	}
	stored := []byte(`{"id":"gen-1","object":"response","output":[{"type":"message","id":"msg_gen-1_0","status":"completed","role":"assistant",` +
		`"content":[{"type":"output_text","text":"Ada.","annotations":[]}]}]}`)
	item, ok := OutputItem(stored, "msg_gen-1_0")
	if !ok {
		t.Fatal("no output item msg_gen-1_0")
	}
	if _, ok := OutputItem(stored, "msg_gen-1_1"); ok {
		t.Fatal("found an item the response does not have")
	}
	got := ReplaceItemReferences(body, map[string][]byte{"msg_gen-1_0": item})
	want := `{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"What is my name?"}]},` +
		`{"type":"message","id":"msg_gen-1_0","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Ada.","annotations":[]}]},` +
		`{"id":"msg_gen-9_0"},{"role":"user","content":[{"type":"input_text","text":"And again?"}]}]}`
	if string(got) != want {
		t.Fatalf("replaced:\n%s\nwant\n%s", got, want)
	}
	// Resolved, it decodes as three turns: the two assistant items join one.
	got = ReplaceItemReferences(got, map[string][]byte{"msg_gen-9_0": item})
	r, _, err := DecodeRequest(got)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Messages) != 3 || r.Messages[1].Role != "assistant" || len(r.Messages[1].Parts) != 2 || r.Messages[1].Parts[0].Text != "Ada." || r.Messages[2].Parts[0].Text != "And again?" {
		t.Fatalf("decoded %+v", r.Messages)
	}
}
