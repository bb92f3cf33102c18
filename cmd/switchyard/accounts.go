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
	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

const accountsUsage = `usage: switchyard accounts create --name N [--credits USD|--unmetered]
       switchyard accounts list
       switchyard accounts topup ID AMOUNT [--memo M]
       switchyard accounts set ID [--credits USD|--unmetered] [--name N]
(each takes --config FILE and --json)`

// accountSyncNote is what an accounts command tells about a running
// gateway: it re-reads every account's credits every 5 seconds
// (Server.Refresh, started by serve). Until then it refuses spending on an
// account it has not seen yet rather than treating it as unmetered
// (billing.Accountant fails closed), and keeps the credits it had.
const accountSyncNote = "a running gateway picks the change up within 5 seconds"

func cmdAccounts(ctx context.Context, args []string, stdout io.Writer, env func(string) (string, bool)) error {
	if len(args) == 0 {
		return errors.New(accountsUsage)
	}
	sub := args[0]
	switch sub {
	case "create", "list", "topup", "set":
	default:
		return fmt.Errorf("unknown accounts command %q; use create, list, topup or set\n%s", sub, accountsUsage)
	}
	fs := flag.NewFlagSet("accounts "+sub, flag.ContinueOnError)
	fs.SetOutput(stdout)
	cfgPath := fs.String("config", "", "config file (for storage.database)")
	asJSON := fs.Bool("json", false, "print JSON")
	var name, credits, memo *string
	var unmetered *bool
	switch sub {
	case "create", "set":
		name = fs.String("name", "", "account name")
		credits = fs.String("credits", "", "prepaid credits in USD (the account's total, not an addition)")
		unmetered = fs.Bool("unmetered", false, "record usage but enforce no balance")
	case "topup":
		memo = fs.String("memo", "", "note kept with the top-up in the ledger (an invoice number)")
	}
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}

	// Every argument is checked before the database is opened.
	var (
		id      string
		amount  money.Nanos
		setTo   *money.Nanos // credits for create and set; nil: unmetered
		setsCr  bool         // set changes the credits
		setsNam bool         // set changes the name
	)
	switch sub {
	case "list":
		if len(pos) != 0 {
			return fmt.Errorf("usage: switchyard accounts list takes no arguments; got %q", pos)
		}
	case "create":
		if len(pos) != 0 {
			return fmt.Errorf("usage: switchyard accounts create --name N [--credits USD|--unmetered]; got extra arguments %q", pos)
		}
		if strings.TrimSpace(*name) == "" {
			return errors.New("usage: switchyard accounts create --name N [--credits USD|--unmetered]: an account needs a --name")
		}
		if setTo, setsCr, err = creditsFlags(*credits, *unmetered); err != nil {
			return err
		}
	case "topup":
		if len(pos) != 2 {
			return errors.New("usage: switchyard accounts topup ID AMOUNT [--memo M]")
		}
		id = pos[0]
		if amount, err = parseAmount("AMOUNT", pos[1]); err != nil {
			return err
		}
		if amount <= 0 {
			return fmt.Errorf("AMOUNT %q: a top-up must be more than zero; to lower an account's credits, use `switchyard accounts set %s --credits USD`", pos[1], id)
		}
	case "set":
		if len(pos) != 1 {
			return errors.New("usage: switchyard accounts set ID [--credits USD|--unmetered] [--name N]")
		}
		id = pos[0]
		if setTo, setsCr, err = creditsFlags(*credits, *unmetered); err != nil {
			return err
		}
		fs.Visit(func(f *flag.Flag) { setsNam = setsNam || f.Name == "name" })
		if !setsCr && !setsNam {
			return fmt.Errorf("accounts set %s: nothing to change; give --credits USD, --unmetered or --name N", id)
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
	case "list":
		return listAccounts(ctx, st, stdout, *asJSON)
	case "create":
		now := time.Now().UTC()
		ac := &store.Account{ID: admin.NewAccountID(), Name: *name, Credits: setTo, CreatedAt: now, UpdatedAt: now}
		if err := st.CreateAccount(ctx, ac); err != nil {
			return fmt.Errorf("creating account: %w", err)
		}
		return printAccount(stdout, *asJSON, accountObject(ac, 0), "created account "+ac.ID+" ("+ac.Name+")", accountSyncNote)
	case "topup":
		ac, err := st.TopUp(ctx, id, amount, *memo, time.Now().UTC())
		if err != nil {
			return accountErr(err, id)
		}
		spent, err := spentOf(ctx, st, id)
		if err != nil {
			return err
		}
		return printAccount(stdout, *asJSON, accountObject(ac, spent), "added $"+amount.String()+" to account "+id, accountSyncNote)
	case "set":
		ac, err := st.GetAccount(ctx, id)
		if err != nil {
			return accountErr(err, id)
		}
		if setsNam {
			ac.Name = *name
		}
		if setsCr {
			ac.Credits = setTo
		}
		if err := st.UpdateAccount(ctx, ac); err != nil {
			return accountErr(err, id)
		}
		spent, err := spentOf(ctx, st, id)
		if err != nil {
			return err
		}
		return printAccount(stdout, *asJSON, accountObject(ac, spent), "updated account "+id, accountSyncNote)
	}
	return nil
}

// creditsFlags reads --credits and --unmetered: the credits to set (nil for
// unmetered) and whether either was given. Neither means unmetered, as an
// account created through the API without "credits" is.
func creditsFlags(credits string, unmetered bool) (*money.Nanos, bool, error) {
	switch {
	case credits != "" && unmetered:
		return nil, false, errors.New("--credits and --unmetered exclude each other: an account either holds credits or is unmetered")
	case unmetered:
		return nil, true, nil
	case credits == "":
		return nil, false, nil
	}
	n, err := parseAmount("--credits", credits)
	if err != nil {
		return nil, false, err
	}
	if n < 0 {
		return nil, false, fmt.Errorf("--credits %q: credits cannot be negative", credits)
	}
	return &n, true, nil
}

// parseAmount reads an amount of USD exactly.
func parseAmount(what, s string) (money.Nanos, error) {
	n, err := money.ParseUSD(s)
	if err != nil {
		return 0, fmt.Errorf("%s %q: %v; write USD such as 10 or 2.50", what, s, err)
	}
	return n, nil
}

func accountErr(err error, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no account %s (see `switchyard accounts list`)", id)
	}
	return err
}

// accountObject renders an account as the management API does, from what
// is persisted: usage is the spend the ledger has written (a running gateway
// may hold up to one batch interval more in memory), and the balance holds
// nothing back for requests in flight.
func accountObject(ac *store.Account, spent money.Nanos) admin.AccountObject {
	o := admin.AccountObject{ID: ac.ID, Name: ac.Name, Credits: ac.Credits, Usage: spent, CreatedAt: ac.CreatedAt.UTC(), UpdatedAt: ac.UpdatedAt.UTC()}
	if ac.Credits != nil {
		b := *ac.Credits - spent
		o.Balance = &b
	}
	return o
}

// spentOf is an account's persisted spend.
func spentOf(ctx context.Context, st admin.Store, id string) (money.Nanos, error) {
	spent, err := spentByAccount(ctx, st)
	return spent[id], err
}

func spentByAccount(ctx context.Context, st admin.Store) (map[string]money.Nanos, error) {
	balances, _, err := st.LoadBalances(ctx)
	if err != nil {
		return nil, err
	}
	spent := make(map[string]money.Nanos, len(balances))
	for _, b := range balances {
		spent[b.ID] = b.Spent
	}
	return spent, nil
}

func listAccounts(ctx context.Context, st admin.Store, stdout io.Writer, asJSON bool) error {
	accts, err := st.ListAccounts(ctx)
	if err != nil {
		return err
	}
	spent, err := spentByAccount(ctx, st)
	if err != nil {
		return err
	}
	out := make([]admin.AccountObject, 0, len(accts))
	for i := range accts {
		out = append(out, accountObject(&accts[i], spent[accts[i].ID]))
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"data": out})
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tCREDITS\tUSAGE\tBALANCE\tCREATED")
	for _, o := range out {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", o.ID, o.Name, usdOr(o.Credits, "unmetered"), usdOr(&o.Usage, ""), usdOr(o.Balance, "-"), o.CreatedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

func usdOr(n *money.Nanos, none string) string {
	switch {
	case n == nil:
		return none
	case *n < 0: // an overrun: a balance may end one request below zero
		return "-$" + (-*n).String()
	}
	return "$" + n.String()
}

// printAccount prints one account after a change, in text followed by note
// in parentheses, or as JSON {"data": {...}} (as `keys` commands do).
func printAccount(stdout io.Writer, asJSON bool, o admin.AccountObject, done, note string) error {
	if asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"data": o})
	}
	fmt.Fprintf(stdout, "%s: credits %s, usage %s, balance %s\n(%s)\n", done, usdOr(o.Credits, "unmetered"), usdOr(&o.Usage, ""), usdOr(o.Balance, "-"), note)
	return nil
}
