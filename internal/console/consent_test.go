package console

import "testing"

func TestAfterSignInGoesOnlyToConsolePagesAndConsent(t *testing.T) {
	for _, tt := range []struct{ next, want string }{
		{"/auth?callback_url=https%3A%2F%2Fapp.example%2Fcb&code_challenge=x", "/auth?callback_url=https%3A%2F%2Fapp.example%2Fcb&code_challenge=x"},
		{"/console/connect", "/console/connect"},
		{"", "/console/keys"},
		{"https://evil.example/auth", "/console/keys"},
		{"//evil.example/auth", "/console/keys"},
		{"/\\evil.example", "/console/keys"},
		{"/api/v1/keys", "/console/keys"},
		{"/auth/../api", "/console/keys"},
		{"/console/../api/v1/keys", "/console/keys"},
		{"javascript:alert(1)", "/console/keys"},
		{"/auth\r\nLocation: x", "/console/keys"},
	} {
		if got := afterSignIn(tt.next); got != tt.want {
			t.Errorf("afterSignIn(%q) = %q, want %q", tt.next, got, tt.want)
		}
	}
}
