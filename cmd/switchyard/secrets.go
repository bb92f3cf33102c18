package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/switchyard-gw/switchyard/internal/secretkey"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// cmdSecrets serves `switchyard secrets rotate`: re-encrypt every provider
// key stored through the API from the old secret key to the new one, in
// one transaction (docs/operations.md, "Rotating the secret key").
func cmdSecrets(ctx context.Context, args []string, stdout io.Writer, env func(string) (string, bool)) error {
	if len(args) == 0 || args[0] != "rotate" {
		return errors.New("usage: switchyard secrets rotate [--config FILE] [--old-key-file FILE]")
	}
	fs := flag.NewFlagSet("secrets rotate", flag.ContinueOnError)
	fs.SetOutput(stdout)
	cfgPath := fs.String("config", "", "config file (for storage.database and security.secret_key_file)")
	oldFile := fs.String("old-key-file", "", "file holding the old secret key (default: $SWITCHYARD_SECRET_KEY_OLD or security.old_secret_key_file)")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("usage: switchyard secrets rotate takes no arguments besides flags; got %q", pos)
	}
	cfg, err := loadConfig(*cfgPath, env)
	if err != nil {
		return err
	}
	ring, err := cfg.Security.SecretKeys()
	if err != nil {
		return err
	}
	if ring == nil || ring.Current == nil {
		return errors.New("no new secret key: " + secretkey.HowToSet + " (the new key), and give the old one as $SWITCHYARD_SECRET_KEY_OLD or --old-key-file")
	}
	if *oldFile != "" {
		b, err := os.ReadFile(*oldFile)
		if err != nil {
			return fmt.Errorf("--old-key-file: %w", err)
		}
		if ring.Old, err = secretkey.Parse(string(b)); err != nil {
			return fmt.Errorf("--old-key-file: %w", err)
		}
	}
	if ring.Old == nil {
		return errors.New("no old secret key: give the key the provider keys are encrypted under now as $SWITCHYARD_SECRET_KEY_OLD or --old-key-file")
	}
	cur, old := ring.Current, ring.Old
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	cat, ok := st.(store.Catalog)
	if !ok {
		return errors.New("this database keeps no provider keys")
	}
	already := 0
	n, err := cat.ResealKeys(ctx, func(kind, id string, k store.SealedKey) (store.SealedKey, error) {
		aad := store.KeyAAD(kind, id)
		switch k.KeyID {
		case cur.ID():
			already++
			return k, nil
		case old.ID():
		default:
			return k, fmt.Errorf("it is encrypted under secret key %s, which is neither the new key (%s) nor the old one (%s); nothing was changed", k.KeyID, cur.ID(), old.ID())
		}
		v, err := old.Open(k.Sealed, aad)
		if err != nil {
			return k, fmt.Errorf("%w; nothing was changed", err)
		}
		sealed, err := cur.Seal(v, aad)
		if err != nil {
			return k, err
		}
		return store.SealedKey{KeyID: cur.ID(), Sealed: sealed}, nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "re-encrypted %d provider key(s) under secret key %s; %d already were\n", n, cur.ID(), already)
	return nil
}
