package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/apikey"
	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

func cmdConfig(args []string, stdout io.Writer, env func(string) (string, bool)) error {
	if len(args) != 2 || args[0] != "check" {
		return errors.New("usage: switchyard config check FILE")
	}
	cfg, err := loadConfig(args[1], env)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: OK (%d providers, %d models)\n", cfg.Source, len(cfg.Providers), len(cfg.Models))
	return nil
}

// parseInterspersed parses flags that may come before, between or after the
// positional arguments (`keys disable HASH --json`, `accounts topup ID 5
// --memo M`), which flag.FlagSet.Parse alone stops at. It returns the
// positional arguments. Everything after "--" is positional, and so is an
// argument such as "-5" that is a number rather than a flag, so that a
// negative amount reaches the command's own check.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		if a := args[0]; len(a) > 1 && a[0] == '-' && a != "--" {
			if _, err := money.ParseUSD(a); err == nil {
				pos = append(pos, a)
				args = args[1:]
				continue
			}
		}
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	return pos, nil
}

// keyCacheNote is what a key command tells about a running gateway: its key
// cache polls the store every 5 seconds (serve.go).
const keyCacheNote = "a running gateway picks the change up within 5 seconds"

func cmdKeys(ctx context.Context, args []string, stdout io.Writer, env func(string) (string, bool)) error {
	if len(args) == 0 {
		return errors.New("usage: switchyard keys create|list|disable|enable|delete|verify [--config FILE] [flags]")
	}
	sub := args[0]
	switch sub {
	case "create", "list", "delete", "disable", "enable":
	case "verify":
		return cmdKeysVerify(args[1:], stdout)
	default:
		// Checked before the store is opened, so a typo creates no database.
		return fmt.Errorf("unknown keys command %q; use create, list, delete, disable, enable or verify", sub)
	}
	fs := flag.NewFlagSet("keys "+sub, flag.ContinueOnError)
	fs.SetOutput(stdout)
	cfgPath := fs.String("config", "", "config file (for storage.database)")
	asJSON := fs.Bool("json", false, "print JSON")
	var (
		req                          admin.CreateKeyRequest
		limit, expires, allowedModel string
		rate                         admin.RateLimits
	)
	if sub == "create" {
		fs.StringVar(&req.Name, "name", "", "key name")
		fs.StringVar(&req.Kind, "kind", "api", "api or management")
		fs.StringVar(&req.AccountID, "account", "", "account id (default: the default account)")
		fs.StringVar(&req.Key, "key", "", "adopt this existing plaintext key instead of generating one")
		fs.StringVar(&limit, "limit", "", "spending limit in USD (default: none)")
		fs.StringVar(&req.LimitReset, "limit-reset", "", "when the limit resets: daily, weekly or monthly (midnight UTC; default: never)")
		fs.StringVar(&expires, "expires", "", "expiry time, RFC 3339 (2026-12-31T23:59:59Z)")
		fs.StringVar(&allowedModel, "allowed-models", "", "comma-separated models the key may call (default: all)")
		fs.Int64Var(&rate.RPM, "rpm", 0, "requests per minute (default: no limit)")
		fs.Int64Var(&rate.TPM, "tpm", 0, "tokens per minute (default: no limit)")
		fs.Int64Var(&rate.Concurrency, "concurrency", 0, "requests in flight (default: no limit)")
	}
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	var hash string
	switch sub {
	case "create", "list":
		if len(pos) != 0 {
			return fmt.Errorf("usage: switchyard keys %s takes no arguments besides flags; got %q", sub, pos)
		}
	default:
		if len(pos) != 1 {
			return fmt.Errorf("usage: switchyard keys %s HASH", sub)
		}
		hash = strings.ToLower(strings.TrimSpace(pos[0]))
	}
	if sub == "create" {
		if err := keyRequestFlags(&req, limit, expires, allowedModel); err != nil {
			return err
		}
		if rate != (admin.RateLimits{}) {
			req.RateLimits = &rate
		}
	}

	cfg, err := loadConfig(*cfgPath, env)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()

	switch sub {
	case "create":
		// The CLI runs with the database owner's rights, so unlike the API it may mint admin keys.
		k, plain, err := admin.NewKey(req, time.Now())
		if err != nil {
			return err
		}
		if err := st.CreateKey(ctx, k); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no account %q; create it with `switchyard accounts create` or list them with `switchyard accounts list`", req.AccountID)
			}
			return fmt.Errorf("creating key: %w", err)
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(map[string]any{"data": admin.ObjectOf(k), "key": plain})
		}
		fmt.Fprintf(stdout, "created %s key %q (hash %s)\n%s\n(shown once; %s)\n", k.Kind, k.Name, k.Hash, plain, keyCacheNote)
	case "list":
		keys, err := st.ListKeys(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			out := make([]admin.KeyObject, 0, len(keys))
			for i := range keys {
				out = append(out, admin.ObjectOf(&keys[i]))
			}
			return json.NewEncoder(stdout).Encode(map[string]any{"data": out})
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "HASH\tLABEL\tKIND\tNAME\tACCOUNT\tDISABLED\tCREATED")
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\t%s\n", k.Hash, k.Label, k.Kind, k.Name, k.AccountID, k.Disabled, k.CreatedAt.UTC().Format(time.RFC3339))
		}
		return tw.Flush()
	case "disable", "enable":
		k, err := setKeyDisabled(ctx, st, hash, sub == "disable")
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(map[string]any{"data": admin.ObjectOf(k)})
		}
		fmt.Fprintf(stdout, "%sd key %s (%s)\n", sub, hash, keyCacheNote)
	case "delete":
		if err := st.DeleteKey(ctx, hash, time.Now().UTC()); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no key with hash %s", hash)
			}
			return err
		}
		fmt.Fprintf(stdout, "deleted key %s (%s)\n", hash, keyCacheNote)
	}
	return nil
}

// keyRequestFlags puts the text of keys create's limit, expiry and model
// flags into req, checking each.
func keyRequestFlags(req *admin.CreateKeyRequest, limit, expires, allowedModels string) error {
	if limit != "" {
		n, err := money.ParseUSD(limit)
		if err != nil {
			return fmt.Errorf("--limit %q: %v; write USD such as 10 or 2.50", limit, err)
		}
		if n < 0 {
			return fmt.Errorf("--limit %q: a limit cannot be negative", limit)
		}
		req.Limit = &n
	}
	switch req.LimitReset {
	case "", "daily", "weekly", "monthly":
	default:
		return fmt.Errorf("--limit-reset %q: must be daily, weekly or monthly", req.LimitReset)
	}
	if expires != "" {
		t, err := time.Parse(time.RFC3339, expires)
		if err != nil {
			return fmt.Errorf("--expires %q: not an RFC 3339 time such as 2026-12-31T23:59:59Z", expires)
		}
		t = t.UTC()
		req.ExpiresAt = &t
	}
	if allowedModels != "" {
		for _, m := range strings.Split(allowedModels, ",") {
			if m = strings.TrimSpace(m); m != "" {
				req.AllowedModels = append(req.AllowedModels, m)
			}
		}
	}
	return nil
}

// setKeyDisabled turns a key off or back on; every other field is kept.
func setKeyDisabled(ctx context.Context, st admin.Store, hash string, disabled bool) (*store.Key, error) {
	keys, err := st.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	for i := range keys {
		if keys[i].Hash != hash {
			continue
		}
		k := &keys[i]
		k.Disabled = disabled
		if err := st.UpdateKey(ctx, k); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, fmt.Errorf("no key with hash %s", hash)
			}
			return nil, err
		}
		return k, nil
	}
	return nil, fmt.Errorf("no key with hash %s (see `switchyard keys list`)", hash)
}

// cmdKeysVerify checks a key's checksum: no config, database or network,
// so it can run wherever a key turns up (a log, a chat, a leak report).
// It says whether the key is well formed, not whether it is live.
func cmdKeysVerify(args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: switchyard keys verify KEY")
	}
	key := strings.TrimSpace(args[0])
	if !strings.HasPrefix(key, apikey.Prefix) {
		return fmt.Errorf("%s: not a %s key, so it has no checksum to verify (older sk-sy- keys and imported keys carry none)", auth.Mask(key), apikey.Prefix)
	}
	if err := apikey.Check(key); err != nil {
		return fmt.Errorf("%s: invalid: %v", auth.Mask(key), err)
	}
	fmt.Fprintf(stdout, "%s: valid checksum (whether the key exists or is enabled only its gateway knows)\n", auth.Mask(key))
	return nil
}
