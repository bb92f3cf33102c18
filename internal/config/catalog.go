package config

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/secretkey"
)

// Providers and models added through the management API are written in
// the config file's vocabulary (JSON being YAML), decoded by the same
// strict decoder, completed with the same defaults and validated together
// with the file's entries by the same Validate. Their values are literal:
// ${VAR} is not read from the gateway's environment.

// ParseProvider decodes one API provider's settings (without name and
// api_key, which the caller sets). Problems have paths such as "base_url".
func ParseProvider(spec []byte) (*Provider, error) {
	var p Provider
	if err := decodeEntry(spec, &p, "provider"); err != nil {
		return nil, err
	}
	if p.SecretAccessKey != "" || p.SessionToken != "" {
		// Only api_key is stored sealed; these would be stored in clear.
		return nil, &ValidationError{Source: "provider", Problems: []Problem{{Path: "secret_access_key",
			Message: "AWS secret keys cannot be stored through the API (only api_key is stored sealed); put them in the config file, use a Bedrock API key as api_key, or leave them out for the AWS default credential chain"}}}
	}
	return &p, nil
}

// ParseModel decodes one API model's settings (without id).
func ParseModel(spec []byte) (*Model, error) {
	var m Model
	if err := decodeEntry(spec, &m, "model"); err != nil {
		return nil, err
	}
	return &m, nil
}

func decodeEntry(spec []byte, v any, what string) error {
	root, perr := parseYAML(spec)
	if perr != nil {
		return &ValidationError{Source: what, Problems: []Problem{{Message: perr.Message}}}
	}
	d := newDecoder(MapEnv(nil))
	if root != nil {
		d.decode(root, reflect.ValueOf(v).Elem(), "")
	}
	if len(d.problems) > 0 {
		ps := d.problems
		for i := range ps {
			ps[i].Line = 0 // a JSON body has no useful lines
		}
		return &ValidationError{Source: what, Problems: ps}
	}
	return nil
}

// WithCatalog returns c with the API's providers ps and models ms after
// the file's, their defaults filled, validated as one config. Problems in
// the API's entries are named by entry ("provider \"acme\".base_url")
// rather than by index.
func (c *Config) WithCatalog(ps []Provider, ms []Model) (*Config, error) {
	out := *c
	nFileP, nFileM := len(c.Providers), len(c.Models)
	out.Providers = slices.Clip(slices.Clone(c.Providers))
	out.Models = slices.Clip(slices.Clone(c.Models))
	for _, p := range ps {
		p.complete()
		out.Providers = append(out.Providers, p)
	}
	for _, m := range ms {
		m.complete()
		out.Models = append(out.Models, m)
	}
	err := out.Validate()
	if err == nil {
		return &out, nil
	}
	ve := err.(*ValidationError)
	for i := range ve.Problems {
		ve.Problems[i].Path = entryPath(ve.Problems[i].Path, "providers", nFileP, func(j int) string { return "provider " + strconv.Quote(ps[j].Name) })
		ve.Problems[i].Path = entryPath(ve.Problems[i].Path, "models", nFileM, func(j int) string { return "model " + strconv.Quote(ms[j].ID) })
		if pr := &ve.Problems[i]; strings.HasPrefix(pr.Path, "provider \"") && strings.HasSuffix(pr.Path, ".api_key") {
			// The file's advice (a ${VAR}) does not apply to the API.
			pr.Message = "this provider needs an api_key; send \"api_key\" in the request body"
		}
	}
	return nil, ve
}

var indexed = regexp.MustCompile(`^(providers|models)\[(\d+)\]`)

// entryPath renames "providers[7].x" to `provider "acme".x` when index 7
// is past the file's entries.
func entryPath(path, list string, nFile int, name func(int) string) string {
	m := indexed.FindStringSubmatch(path)
	if m == nil || m[1] != list {
		return path
	}
	i, _ := strconv.Atoi(m[2])
	if i < nFile {
		return path
	}
	return name(i-nFile) + path[len(m[0]):]
}

// SecretKeys returns the keys that seal and open stored provider keys:
// from the environment or the key files. A nil ring (and no error) means
// no secret key is configured.
func (s *Security) SecretKeys() (*secretkey.Ring, error) {
	cur, err := loadSecretKey(s.SecretKey, s.SecretKeyFile, "security.secret_key_file")
	if err != nil {
		return nil, err
	}
	old, err := loadSecretKey(s.OldSecretKey, s.OldSecretKeyFile, "security.old_secret_key_file")
	if err != nil {
		return nil, err
	}
	if cur == nil && old == nil {
		return nil, nil
	}
	return &secretkey.Ring{Current: cur, Old: old}, nil
}

func loadSecretKey(env Secret, file, path string) (*secretkey.Key, error) {
	v := env.Reveal()
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		v = string(b)
		if strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("%s: %s is empty; %s", path, file, secretkey.HowToSet)
		}
	}
	if v == "" {
		return nil, nil
	}
	k, err := secretkey.Parse(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}
