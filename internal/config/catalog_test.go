package config

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAPIEntriesAreDecodedStrictlyAndValidatedWithTheFile(t *testing.T) {
	file, err := Parse([]byte("providers:\n  - {name: fake, type: mock}\nmodels:\n  - {id: m, routes: [{provider: fake}]}\n"), "f.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseProvider([]byte(`{"type":"openai","base_urll":"x"}`)); err == nil || !strings.Contains(err.Error(), `did you mean "base_url"`) {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := ParseProvider([]byte(`{"type":"openai","headers":{"X":"${HOME}"}}`)); err == nil {
		t.Error("${VAR} was read from the environment")
	}
	p, err := ParseProvider([]byte(`{"type":"openai","base_url":"http://127.0.0.1:9/v1","timeout":"30s"}`))
	if err != nil {
		t.Fatal(err)
	}
	p.Name = "acme"
	m, err := ParseModel([]byte(`{"routes":[{"provider":"acme"},{"provider":"nobody"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	m.ID = "acme-chat"
	_, err = file.WithCatalog([]Provider{*p}, []Model{*m})
	if err == nil || !strings.Contains(err.Error(), `model "acme-chat".routes[1].provider`) {
		t.Fatalf("a route to an unknown provider: %v", err)
	}
	m.Routes = m.Routes[:1]
	got, err := file.WithCatalog([]Provider{*p}, []Model{*m})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Providers) != 2 || len(got.Models) != 2 || got.Models[1].Routes[0].Weight != 1 || len(file.Providers) != 1 {
		t.Errorf("merged %d providers, %d models; the file's config kept %d", len(got.Providers), len(got.Models), len(file.Providers))
	}
	dup := *p
	dup.Name = "fake"
	if _, err := file.WithCatalog([]Provider{dup}, nil); err == nil || !strings.Contains(err.Error(), `provider "fake".name`) {
		t.Errorf("a duplicate name: %v", err)
	}
}

func TestSecretKeyFromEnvironmentOrFileNeverQuoted(t *testing.T) {
	good := base64.StdEncoding.EncodeToString(make([]byte, 32))
	bad := "c2hvcnQta2V5LXZhbHVl" // 15 bytes
	if _, err := Parse(nil, "", MapEnv(map[string]string{"SWITCHYARD_SECRET_KEY": bad})); err == nil || strings.Contains(err.Error(), bad) {
		t.Errorf("a short key: %v", err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	if err := os.WriteFile(path, []byte(good+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	y := []byte("security:\n  secret_key_file: " + path + "\n")
	if _, err := Parse(y, "f.yaml", MapEnv(map[string]string{"SWITCHYARD_SECRET_KEY": good})); err == nil || !strings.Contains(err.Error(), "given twice") {
		t.Errorf("both: %v", err)
	}
	cfg, err := Parse(y, "f.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := cfg.Security.SecretKeys()
	if err != nil || ring == nil || ring.Current == nil || ring.Old != nil {
		t.Fatalf("ring %+v, %v", ring, err)
	}
	cfg, _ = Parse(nil, "", nil)
	if ring, err := cfg.Security.SecretKeys(); ring != nil || err != nil {
		t.Errorf("no key configured: %+v, %v", ring, err)
	}
}
