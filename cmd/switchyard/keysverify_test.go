package main

import (
	"os"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/apikey"
)

func TestKeysVerifyChecksTheChecksumOffline(t *testing.T) {
	good := apikey.New()
	flipped := good[:len(good)-1] + "a"
	if good[len(good)-1] == 'a' {
		flipped = good[:len(good)-1] + "b"
	}
	tests := []struct {
		name     string
		key      string
		code     int
		stdout   string
		stderror string
	}{
		{name: "valid", key: good, code: 0, stdout: "valid checksum"},
		{name: "valid with a stray newline", key: good + "\n", code: 0, stdout: "valid checksum"},
		{name: "one character changed", key: flipped, code: 1, stderror: "checksum mismatch"},
		{name: "cut off", key: good[:50], code: 1, stderror: "wrong length"},
		{name: "legacy key", key: "sk-sy-0123456789abcdefghijABCDEFGHIJ0123456789", code: 1, stderror: "no checksum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A command that opened the database would create it here.
			data := t.TempDir()
			code, stdout, stderr := runCLI(t, map[string]string{"SWITCHYARD_DATA": data}, "keys", "verify", tt.key)
			if code != tt.code || !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderror) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d mentioning %q / %q", code, stdout, stderr, tt.code, tt.stdout, tt.stderror)
			}
			if strings.Contains(stdout+stderr, strings.TrimSpace(tt.key)) {
				t.Fatalf("the whole key is printed: %q %q", stdout, stderr)
			}
			if ents, err := os.ReadDir(data); err != nil || len(ents) != 0 {
				t.Fatalf("keys verify touched the data directory: %v %v", ents, err)
			}
		})
	}
	if code, _, stderr := runCLI(t, nil, "keys", "verify"); code != 1 || !strings.Contains(stderr, "usage: switchyard keys verify KEY") {
		t.Fatalf("no key: exit %d, %q", code, stderr)
	}
}
