package audit

import (
	"context"
	"strings"
	"testing"
)

func TestRedactHidesSecretsAtAnyDepth(t *testing.T) {
	got := string(Redact(map[string]any{
		"name": "ci", "key": "sk-sy-v1-secret",
		"provider": map[string]any{"API_Key": "sk-upstream-secret", "base_url": "https://x"},
		"list":     []any{map[string]any{"password": "hunter2"}, map[string]any{"token_raw": "t"}},
		"limit":    nil,
	}))
	for _, secret := range []string{"sk-sy-v1-secret", "sk-upstream-secret", "hunter2", `"t"`} {
		if strings.Contains(got, secret) {
			t.Errorf("%s left in %s", secret, got)
		}
	}
	for _, kept := range []string{`"name":"ci"`, `"base_url":"https://x"`, `"limit":null`} {
		if !strings.Contains(got, kept) {
			t.Errorf("%s missing from %s", kept, got)
		}
	}
	if Redact(nil) != nil {
		t.Error("Redact(nil) is not nil")
	}
	if got := string(Redact(struct{ Name string }{"x"})); got != `{"Name":"x"}` {
		t.Errorf("nothing to redact: %s", got)
	}
}

func TestNotesAreIgnoredOutsideAnAuditedRequest(t *testing.T) {
	Describe(context.Background(), "k", "a", 1, 2) // no Note: no panic, nothing kept
	ctx, n := With(context.Background())
	Describe(ctx, "key-1", "acct-a", map[string]any{"disabled": false}, map[string]any{"disabled": true})
	As(ctx, "github", "", "GitHub secret scanning")
	if n.Target != "key-1" || n.AccountID != "acct-a" || string(n.Before) != `{"disabled":false}` ||
		string(n.After) != `{"disabled":true}` || n.ActorKind != "github" || n.Actor != "GitHub secret scanning" {
		t.Fatalf("note: %+v", n)
	}
}
