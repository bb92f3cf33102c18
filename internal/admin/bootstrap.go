package admin

import (
	"context"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

const bootstrapMeta = "bootstrapped_at"

// Bootstrap creates the admin key and a demo API key the first time a
// database is used. It returns their plaintexts (to be shown once) and
// created=false on every later start. The admin key is stored in the
// default account (every key row has one), but it belongs to no customer:
// the default account's management keys cannot see or change it (visibleTo).
func Bootstrap(ctx context.Context, st store.Store, now time.Time) (adminKey, demoKey string, created bool, err error) {
	done, err := st.Meta(ctx, bootstrapMeta)
	if err != nil || done != "" {
		return "", "", false, err
	}
	ak, adminPlain, err := NewKey(CreateKeyRequest{Name: "admin", Kind: string(store.KindAdmin)}, now)
	if err != nil {
		return "", "", false, err
	}
	dk, demoPlain, err := NewKey(CreateKeyRequest{Name: "demo"}, now)
	if err != nil {
		return "", "", false, err
	}
	for _, k := range []*store.Key{ak, dk} {
		if err := st.CreateKey(ctx, k); err != nil {
			return "", "", false, err
		}
	}
	if err := st.SetMeta(ctx, bootstrapMeta, now.UTC().Format(time.RFC3339)); err != nil {
		return "", "", false, err
	}
	return adminPlain, demoPlain, true, nil
}
