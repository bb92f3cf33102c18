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

func cmdKeys(ctx context.Context, args []string, stdout io.Writer, env func(string) (string, bool)) error {
	if len(args) == 0 {
		return errors.New("usage: switchyard keys create|list|delete [--config FILE] ...")
	}
	sub := args[0]
	fs := flag.NewFlagSet("keys "+sub, flag.ContinueOnError)
	fs.SetOutput(stdout)
	cfgPath := fs.String("config", "", "config file (for storage.database)")
	name := fs.String("name", "", "key name")
	kind := fs.String("kind", "api", "api or management")
	account := fs.String("account", "", "account id (default: the default account)")
	plaintext := fs.String("key", "", "adopt this existing plaintext key instead of generating one")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return err
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
		k, plain, err := admin.NewKey(admin.CreateKeyRequest{Name: *name, Kind: *kind, AccountID: *account, Key: *plaintext}, time.Now())
		if err != nil {
			return err
		}
		if err := st.CreateKey(ctx, k); err != nil {
			return fmt.Errorf("creating key: %w", err)
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(map[string]any{"data": admin.ObjectOf(k), "key": plain})
		}
		fmt.Fprintf(stdout, "created %s key %q (hash %s)\n%s\n(shown once; a running gateway picks it up within seconds)\n", k.Kind, k.Name, k.Hash, plain)
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
	case "delete":
		if fs.NArg() != 1 {
			return errors.New("usage: switchyard keys delete HASH")
		}
		hash := strings.TrimSpace(fs.Arg(0))
		if err := st.DeleteKey(ctx, hash, time.Now().UTC()); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no key with hash %s", hash)
			}
			return err
		}
		fmt.Fprintf(stdout, "deleted key %s (a running gateway stops accepting it within seconds)\n", hash)
	default:
		return fmt.Errorf("unknown keys command %q; use create, list or delete", sub)
	}
	return nil
}
