package config

import (
	"strings"
	"testing"
)

func TestConsoleRegistrationIsReadAndChecked(t *testing.T) {
	cfg, err := Parse([]byte(`
console:
  registration:
    enabled: true
    invitation_codes: ["${CODE}"]
    starting_credits: 2.5
`), "c.yaml", MapEnv(map[string]string{"CODE": "welcome-2026-abc"}))
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Console.Registration
	if !r.Enabled || len(r.InvitationCodes) != 1 || r.InvitationCodes[0].Reveal() != "welcome-2026-abc" || r.StartingCredits.String() != "2.5" {
		t.Fatalf("registration %+v", r)
	}
	if def, err := Parse(nil, "", nil); err != nil || def.Console.Registration.Enabled {
		t.Fatalf("the default: %+v, %v; want registration off", def.Console.Registration, err)
	}
	_, err = Parse([]byte(`
console:
  registration:
    enabled: true
    invitation_codes: ["short7!"]
    starting_credits: -1
`), "c.yaml", nil)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	for _, want := range []string{"console.registration.invitation_codes[0]", "at least 8", "console.registration.starting_credits"} {
		if !strings.Contains(msg, want) {
			t.Errorf("problems %q lack %q", msg, want)
		}
	}
	if strings.Contains(msg, "short7!") {
		t.Errorf("a problem quotes the invitation code: %q", msg)
	}
}
