package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
)

// runSwitchyard runs the command line in-process with env as its whole
// environment and returns its exit code and output.
func runSwitchyard(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(t.Context(), args, &out, &errOut, func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	})
	return code, out.String(), errOut.String()
}

// runJSON runs a command that must succeed and decodes its --json output.
func runJSON(t *testing.T, env map[string]string, v any, args ...string) {
	t.Helper()
	code, stdout, stderr := runSwitchyard(t, env, append(args, "--json")...)
	if code != 0 {
		t.Fatalf("%s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), v); err != nil {
		t.Fatalf("%s --json is not JSON (%v):\n%s", strings.Join(args, " "), err, stdout)
	}
}

type accountOut struct {
	Data admin.AccountObject `json:"data"`
}

func usdOf(t *testing.T, s string) *money.Nanos {
	t.Helper()
	n, err := money.ParseUSD(s)
	if err != nil {
		t.Fatal(err)
	}
	return &n
}

func sameCredits(a, b *money.Nanos) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

// listAccountsJSON returns `accounts list --json` by id.
func listAccountsJSON(t *testing.T, env map[string]string) map[string]admin.AccountObject {
	t.Helper()
	var out struct{ Data []admin.AccountObject }
	runJSON(t, env, &out, "accounts", "list")
	m := make(map[string]admin.AccountObject, len(out.Data))
	for _, a := range out.Data {
		m[a.ID] = a
	}
	return m
}

var accountIDShape = regexp.MustCompile(`^acct-[0-9a-z]{20}$`)

func TestAccountsCreateListTopUpSetRoundTrip(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"SWITCHYARD_DATA": dir}

	// create, prepaid: the account as the API shows it.
	var acme accountOut
	runJSON(t, env, &acme, "accounts", "create", "--name", "acme", "--credits", "100")
	id := acme.Data.ID
	if !accountIDShape.MatchString(id) || acme.Data.Name != "acme" || !sameCredits(acme.Data.Credits, usdOf(t, "100")) ||
		acme.Data.Usage != 0 || !sameCredits(acme.Data.Balance, usdOf(t, "100")) {
		t.Fatalf("created %+v", acme.Data)
	}

	// create, unmetered, in text: a running gateway re-reads accounts every
	// 5 s (Server.Refresh), so the output says that and nothing of a restart.
	code, stdout, stderr := runSwitchyard(t, env, "accounts", "create", "--name", "team", "--unmetered")
	if code != 0 || !strings.Contains(stdout, "created account acct-") || !strings.Contains(stdout, "unmetered") ||
		!strings.Contains(stdout, "within 5 seconds") || strings.Contains(stdout, "restart") {
		t.Fatalf("accounts create --unmetered: exit %d\n%s%s", code, stdout, stderr)
	}

	accts := listAccountsJSON(t, env)
	if len(accts) != 3 || accts[store.DefaultAccountID].Credits != nil || !sameCredits(accts[id].Credits, usdOf(t, "100")) {
		t.Fatalf("accounts = %+v, want default, acme ($100) and team", accts)
	}
	var team string
	for a := range accts {
		if a != id && a != store.DefaultAccountID {
			team = a
		}
	}
	if accts[team].Name != "team" || accts[team].Credits != nil || accts[team].Balance != nil {
		t.Fatalf("team = %+v, want unmetered", accts[team])
	}
	code, stdout, _ = runSwitchyard(t, env, "accounts", "list")
	for _, want := range []string{"ID", "CREDITS", "BALANCE", id, "acme", "$100", team, "unmetered"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("accounts list lacks %q:\n%s", want, stdout)
		}
	}

	// topup: flags may follow the positional arguments; amounts are exact.
	code, stdout, stderr = runSwitchyard(t, env, "accounts", "topup", id, "12.50", "--memo", "invoice 42")
	if code != 0 || !strings.Contains(stdout, "$112.5") || !strings.Contains(stdout, "within 5 seconds") || strings.Contains(stdout, "restart") {
		t.Fatalf("accounts topup: exit %d\n%s%s", code, stdout, stderr)
	}
	var topped accountOut
	runJSON(t, env, &topped, "accounts", "topup", id, "0.000000001")
	if !sameCredits(topped.Data.Credits, usdOf(t, "112.500000001")) {
		t.Fatalf("after a one-nano top-up: %+v", topped)
	}

	// set: replaces the credits; --unmetered and back.
	var set accountOut
	runJSON(t, env, &set, "accounts", "set", id, "--credits", "20")
	if !sameCredits(set.Data.Credits, usdOf(t, "20")) || set.Data.Name != "acme" {
		t.Fatalf("set --credits 20: %+v", set)
	}
	runJSON(t, env, &set, "accounts", "set", team, "--credits", "5", "--name", "team-b")
	if !sameCredits(set.Data.Credits, usdOf(t, "5")) || set.Data.Name != "team-b" {
		t.Fatalf("set team: %+v", set)
	}
	runJSON(t, env, &set, "accounts", "set", id, "--unmetered")
	if set.Data.Credits != nil || set.Data.Balance != nil {
		t.Fatalf("set --unmetered: %+v", set)
	}
	// A top-up makes an unmetered account prepaid with that much.
	runJSON(t, env, &set, "accounts", "topup", id, "7")
	if !sameCredits(set.Data.Credits, usdOf(t, "7")) {
		t.Fatalf("topup of an unmetered account: %+v", set)
	}
	accts = listAccountsJSON(t, env)
	if !sameCredits(accts[id].Credits, usdOf(t, "7")) || !sameCredits(accts[team].Credits, usdOf(t, "5")) || accts[team].Name != "team-b" {
		t.Fatalf("after the changes: %+v", accts)
	}

	// Usage and balance are what the ledger persisted.
	var key struct{ Data admin.KeyObject }
	runJSON(t, env, &key, "keys", "create", "--account", id)
	spendThroughLedger(t, dir, key.Data.Hash, id, "1.25")
	accts = listAccountsJSON(t, env)
	if a := accts[id]; a.Usage != *usdOf(t, "1.25") || !sameCredits(a.Balance, usdOf(t, "5.75")) {
		t.Fatalf("after spending $1.25 of $7: usage %s, balance %v", a.Usage, a.Balance)
	}
	// Credits set below the spend leave a negative balance, shown as such.
	code, stdout, stderr = runSwitchyard(t, env, "accounts", "set", id, "--credits", "1")
	if code != 0 || !strings.Contains(stdout, "usage $1.25, balance -$0.25") {
		t.Fatalf("accounts set --credits 1 after spending $1.25: exit %d\n%s%s", code, stdout, stderr)
	}
}

// spendThroughLedger writes one generation and its charge to the database in dir, as the
// gateway's ledger writer does.
func spendThroughLedger(t *testing.T, dir, keyHash, accountID, amount string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "switchyard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC()
	cost := *usdOf(t, amount)
	g := store.Generation{ID: "gen-cli-test", KeyHash: keyHash, AccountID: accountID, Model: "gpt-4o", Provider: "mock",
		UpstreamModel: "gpt-4o", TokensPrompt: 10, TokensCompletion: 10, Cost: cost, Status: 200, CreatedAt: now}
	c := store.Charge{GenerationID: g.ID, AccountID: accountID, KeyHash: keyHash, Amount: cost, At: now}
	if err := st.WriteBatch(ctx, &store.Batch{Generations: []store.Generation{g}, Charges: []store.Charge{c}}); err != nil {
		t.Fatal(err)
	}
}

func TestAccountsBadArgumentsExit1WithAMessage(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		mention string
		// beforeDB: the mistake is caught before the database is opened,
		// so no database file is created.
		beforeDB bool
	}{
		{name: "no subcommand", args: []string{"accounts"}, mention: "usage: switchyard accounts", beforeDB: true},
		{name: "unknown subcommand", args: []string{"accounts", "delete", "acct-x"}, mention: `unknown accounts command "delete"`, beforeDB: true},
		{name: "topup amount not a number", args: []string{"accounts", "topup", "acct-x", "12abc"}, mention: `AMOUNT "12abc": not a decimal amount`, beforeDB: true},
		{name: "topup amount with a currency sign", args: []string{"accounts", "topup", "acct-x", "$5"}, mention: `AMOUNT "$5"`, beforeDB: true},
		{name: "topup amount below a nano-dollar", args: []string{"accounts", "topup", "acct-x", "0.0000000001"}, mention: "at most 9 decimal places", beforeDB: true},
		{name: "topup negative", args: []string{"accounts", "topup", "acct-x", "-5"}, mention: "more than zero", beforeDB: true},
		{name: "topup zero", args: []string{"accounts", "topup", "acct-x", "0"}, mention: "more than zero", beforeDB: true},
		{name: "topup without amount", args: []string{"accounts", "topup", "acct-x"}, mention: "usage: switchyard accounts topup ID AMOUNT", beforeDB: true},
		{name: "create without name", args: []string{"accounts", "create", "--credits", "5"}, mention: "--name", beforeDB: true},
		{name: "create bad credits", args: []string{"accounts", "create", "--name", "a", "--credits", "1,5"}, mention: `--credits "1,5"`, beforeDB: true},
		{name: "create negative credits", args: []string{"accounts", "create", "--name", "a", "--credits", "-1"}, mention: "cannot be negative", beforeDB: true},
		{name: "create credits and unmetered", args: []string{"accounts", "create", "--name", "a", "--credits", "5", "--unmetered"}, mention: "exclude each other", beforeDB: true},
		{name: "set nothing", args: []string{"accounts", "set", "acct-x"}, mention: "nothing to change", beforeDB: true},
		{name: "unknown flag", args: []string{"accounts", "list", "--verbose"}, mention: "flag provided but not defined", beforeDB: true},
		{name: "topup unknown account", args: []string{"accounts", "topup", "acct-nope", "5"}, mention: "no account acct-nope"},
		{name: "set unknown account", args: []string{"accounts", "set", "acct-nope", "--credits", "5"}, mention: "no account acct-nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			code, _, stderr := runSwitchyard(t, map[string]string{"SWITCHYARD_DATA": dir}, tt.args...)
			if code != 1 || !strings.Contains(stderr, tt.mention) {
				t.Fatalf("exit %d, stderr %q; want 1 mentioning %q", code, stderr, tt.mention)
			}
			if _, err := os.Stat(filepath.Join(dir, "switchyard.db")); tt.beforeDB && err == nil {
				t.Errorf("a usage mistake opened (and created) the database")
			}
		})
	}
}

func TestKeysCreateWithLimitsThenDisableAndEnable(t *testing.T) {
	env := map[string]string{"SWITCHYARD_DATA": t.TempDir()}
	var created struct {
		Data admin.KeyObject
		Key  string
	}
	runJSON(t, env, &created, "keys", "create", "--name", "capped", "--limit", "5.25", "--limit-reset", "weekly",
		"--expires", "2030-01-02T03:04:05+01:00", "--allowed-models", "gpt-4o, o3,")
	k := created.Data
	wantExpiry := time.Date(2030, 1, 2, 2, 4, 5, 0, time.UTC)
	if !sameCredits(k.Limit, usdOf(t, "5.25")) || k.LimitReset == nil || *k.LimitReset != "weekly" ||
		k.ExpiresAt == nil || !k.ExpiresAt.Equal(wantExpiry) || !slices.Equal(k.AllowedModels, []string{"gpt-4o", "o3"}) || k.Disabled {
		t.Fatalf("created %+v", k)
	}

	// disable: the output says when a running gateway notices; list shows it.
	code, stdout, stderr := runSwitchyard(t, env, "keys", "disable", k.Hash)
	if code != 0 || !strings.Contains(stdout, "disabled key "+k.Hash) || !strings.Contains(stdout, "5 seconds") {
		t.Fatalf("keys disable: exit %d\n%s%s", code, stdout, stderr)
	}
	keyByHash := func() admin.KeyObject {
		t.Helper()
		var out struct{ Data []admin.KeyObject }
		runJSON(t, env, &out, "keys", "list")
		for _, o := range out.Data {
			if o.Hash == k.Hash {
				return o
			}
		}
		t.Fatalf("key %s is not listed", k.Hash)
		return admin.KeyObject{}
	}
	if got := keyByHash(); !got.Disabled {
		t.Fatalf("after disable: %+v", got)
	}

	// enable (with --json after the hash, and the hash in upper case): every
	// other field is kept.
	var enabled struct{ Data admin.KeyObject }
	runJSON(t, env, &enabled, "keys", "enable", strings.ToUpper(k.Hash))
	got := keyByHash()
	if enabled.Data.Disabled || got.Disabled || !sameCredits(got.Limit, usdOf(t, "5.25")) || got.LimitReset == nil ||
		got.ExpiresAt == nil || !got.ExpiresAt.Equal(wantExpiry) || len(got.AllowedModels) != 2 || got.Name != "capped" {
		t.Fatalf("after enable: %+v (command said %+v)", got, enabled.Data)
	}

	for _, tt := range []struct {
		name    string
		args    []string
		mention string
	}{
		{name: "disable unknown hash", args: []string{"keys", "disable", auth.Hash("sk-sy-nope")}, mention: "no key with hash"},
		{name: "enable without hash", args: []string{"keys", "enable"}, mention: "usage: switchyard keys enable HASH"},
		{name: "bad limit", args: []string{"keys", "create", "--limit", "five"}, mention: `--limit "five"`},
		{name: "negative limit", args: []string{"keys", "create", "--limit", "-1"}, mention: "negative"},
		{name: "bad limit reset", args: []string{"keys", "create", "--limit", "1", "--limit-reset", "hourly"}, mention: "daily, weekly or monthly"},
		{name: "bad expiry", args: []string{"keys", "create", "--expires", "2030-01-02"}, mention: "RFC 3339"},
		{name: "unknown account", args: []string{"keys", "create", "--account", "acct-nope"}, mention: `no account "acct-nope"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runSwitchyard(t, env, tt.args...)
			if code != 1 || !strings.Contains(stderr, tt.mention) {
				t.Fatalf("exit %d, stderr %q; want 1 mentioning %q", code, stderr, tt.mention)
			}
		})
	}
}

func TestHelpSaysARunningGatewayPicksUpAccountChangesWithoutARestart(t *testing.T) {
	// serve re-reads keys and accounts every 5 s (Server.Refresh); the help
	// once told operators to restart for account changes.
	code, stdout, _ := runSwitchyard(t, map[string]string{"SWITCHYARD_DATA": t.TempDir()}, "help")
	if code != 0 || !strings.Contains(stdout, "keys and accounts within 5 seconds") || strings.Contains(stdout, "restart") {
		t.Fatalf("help: exit %d\n%s", code, stdout)
	}
}
