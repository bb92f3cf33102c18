package llm_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The vocabulary and the codecs translate; they never talk to the network,
// a database or a logger (STYLE: dependency direction is tested).
func TestPurePackagesImportNoTransportStorageOrLogging(t *testing.T) {
	forbidden := []string{"net/http", "net", "database/sql", "modernc.org/sqlite", "log/slog", "log"}
	for _, pkg := range []string{"llm", "api/openai", "api/anthropic", "api/gemini", "api/responses", "api/bedrock", "sse", "money", "jsonstr", "wildcard"} {
		out, err := exec.Command("go", "list", "-deps", "github.com/switchyard-gw/switchyard/internal/"+pkg).Output()
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("go list: %v", err)
			}
			t.Skipf("go list unavailable: %v", err)
		}
		deps := map[string]bool{}
		for _, d := range strings.Fields(string(out)) {
			deps[d] = true
		}
		for _, f := range forbidden {
			if deps[f] {
				t.Errorf("internal/%s depends on %s", pkg, f)
			}
		}
	}
}
