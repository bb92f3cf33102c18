package config

import (
	"strings"
	"testing"
)

func TestConsoleRankingsDefaultsToMembersAndIsChecked(t *testing.T) {
	def, err := Parse(nil, "", nil)
	if err != nil || def.Console.Rankings != RankingsMembers {
		t.Fatalf("the default: %q, %v; want members", def.Console.Rankings, err)
	}
	for _, m := range []string{RankingsPublic, RankingsMembers, RankingsOff} {
		cfg, err := Parse([]byte("console:\n  rankings: "+m+"\n"), "c.yaml", nil)
		if err != nil || cfg.Console.Rankings != m {
			t.Errorf("rankings %s: %q, %v", m, cfg.Console.Rankings, err)
		}
	}
	_, err = Parse([]byte("console:\n  rankings: everyone\n"), "c.yaml", nil)
	if err == nil || !strings.Contains(err.Error(), "console.rankings") || !strings.Contains(err.Error(), "public, members or off") {
		t.Errorf("rankings: everyone: %v", err)
	}
}
