package server

import (
	"context"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/console"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// registrationOf is what console.registration allows.
func registrationOf(cfg *config.Config) admin.Registration {
	r := cfg.Console.Registration
	out := admin.Registration{Enabled: r.Enabled, Credits: r.StartingCredits}
	for _, c := range r.InvitationCodes {
		out.Codes = append(out.Codes, c.Reveal())
	}
	return out
}

func userIdentity(u *store.User) console.Identity {
	return console.Identity{Kind: "user", AccountID: u.AccountID, Label: u.Email, Role: string(u.Role), UserID: u.ID}
}

// consoleSignIn checks a console user's email and password.
func (s *Server) consoleSignIn(ctx context.Context, email, password string) (console.Identity, error) {
	u, err := s.admin.SignIn(ctx, email, password)
	if err != nil {
		return console.Identity{}, err
	}
	return userIdentity(u), nil
}

// consolePrincipal says who a console session is now: its key, if still
// usable for the management API, or its user, if not disabled or deleted.
func (s *Server) consolePrincipal(ctx context.Context, p auth.Principal) (console.Identity, error) {
	if p.UserID != "" {
		u, err := s.admin.User(ctx, p.UserID)
		if err != nil {
			return console.Identity{}, err
		}
		if u.Disabled {
			return console.Identity{}, admin.ErrSignIn
		}
		return userIdentity(u), nil
	}
	k, err := s.admin.ManagementKey(p.KeyHash)
	if err != nil {
		return console.Identity{}, err
	}
	return console.Identity{Kind: string(k.Kind), AccountID: k.AccountID, Label: k.Label, KeyHash: k.Hash}, nil
}
