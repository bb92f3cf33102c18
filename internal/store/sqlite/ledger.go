package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

const generationColumns = `id, request_id, key_hash, account_id, model_requested, provider, upstream_model,
	tokens_prompt, tokens_completion, tokens_cached, tokens_reasoning, cost_nanos, usage_estimated,
	status, error_code, finish_reason, streamed, cancelled, latency_ms, ttft_ms, generation_ms,
	origin, app_title, attempts, created_at`

// The statements of WriteBatch, prepared once per batch.
const (
	// chargeKeySQL adds ?2 to a key's usage. ?1 is the start of the limit
	// period the charge belongs to (NULL: the key has no limit_reset and its
	// period usage is all-time usage). A charge of the stored period, or of no
	// period, adds to it; a charge of a later period (or of a key that had no
	// period) starts that period with itself. A charge of an earlier period
	// than the stored one adds to the total only: the period it counted
	// against is over. That happens when two requests settle on either side
	// of a period boundary and reach the ledger writer in the other order;
	// restarting the period there would move the key back into the old one
	// and lose the new period's usage.
	chargeKeySQL = `UPDATE api_keys SET
		usage_nanos = CASE
			WHEN ?1 IS NULL OR usage_period_start = ?1 THEN usage_nanos + ?2
			WHEN usage_period_start IS NULL OR usage_period_start < ?1 THEN ?2
			ELSE usage_nanos END,
		usage_period_start = CASE
			WHEN ?1 IS NOT NULL AND (usage_period_start IS NULL OR usage_period_start < ?1) THEN ?1
			ELSE usage_period_start END,
		total_usage_nanos = total_usage_nanos + ?2
		WHERE hash = ?3`

	chargeAccountSQL = `UPDATE accounts SET spent_nanos = spent_nanos + ? WHERE id = ?`

	// addRollupSQL adds to a usage rollup; histograms (store.Histogram's
	// binary encoding) merge with hist_add (usage.go).
	addRollupSQL = `INSERT INTO usage_rollups (day, account_id, key_hash, model, provider, app,
			requests, tokens_prompt, tokens_completion, tokens_cached, tokens_reasoning, cost_nanos,
			errors, latency_hist, ttft_hist)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (day, account_id, key_hash, model, provider, app) DO UPDATE SET
			requests = requests + excluded.requests,
			tokens_prompt = tokens_prompt + excluded.tokens_prompt,
			tokens_completion = tokens_completion + excluded.tokens_completion,
			tokens_cached = tokens_cached + excluded.tokens_cached,
			tokens_reasoning = tokens_reasoning + excluded.tokens_reasoning,
			cost_nanos = cost_nanos + excluded.cost_nanos,
			errors = errors + excluded.errors,
			latency_hist = hist_add(latency_hist, excluded.latency_hist),
			ttft_hist = hist_add(ttft_hist, excluded.ttft_hist)`
)

// WriteBatch inserts the generations of b, applies its charges and adds the
// new generations to the usage rollups, in one transaction.
//
// It is idempotent: a generation whose id is stored is skipped (and not
// counted in the rollups again), and so is a charge whose generation was
// charged already (and its amount is not added again), so writing a batch a
// second time changes nothing.
//
// A charge adds its Amount to the account's spent credits and to the key's
// total and period usage (see chargeKeySQL for periods), and appends a
// "charge" ledger entry of -Amount. Charges are summed per account, and per
// key and period, before the balances are updated: the write lock is held for
// one statement per account and key, not per charge. A zero generation
// CreatedAt or charge At means now.
func (db *DB) WriteBatch(ctx context.Context, b *store.Batch) error {
	// Everything that can be checked is checked before the write lock is taken.
	b.CleanText()
	now := db.now()
	gens := make([]generationRow, len(b.Generations))
	for i := range b.Generations {
		r, err := toGenerationRow(&b.Generations[i], now)
		if err != nil {
			return fmt.Errorf("write batch: %w", err)
		}
		gens[i] = r
	}
	charges := make([]chargeRow, len(b.Charges))
	for i := range b.Charges {
		r, err := toChargeRow(&b.Charges[i], now)
		if err != nil {
			return fmt.Errorf("write batch: %w", err)
		}
		charges[i] = r
	}

	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("write batch: %w", err)
	}
	defer tx.Rollback()
	var rollups rollupSums
	if len(gens) > 0 {
		if rollups, err = insertGenerations(ctx, tx, gens); err != nil {
			return fmt.Errorf("write batch: %w", err)
		}
	}
	if len(charges) > 0 {
		if err := applyCharges(ctx, tx, charges); err != nil {
			return fmt.Errorf("write batch: %w", err)
		}
	}
	if len(rollups.order) > 0 {
		if err := addRollups(ctx, tx, &rollups); err != nil {
			return fmt.Errorf("write batch: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("write batch: %w", err)
	}
	return nil
}

// generationRow is a Generation in its stored form.
type generationRow struct {
	g              *store.Generation
	createdAt      int64
	ttft, genTime  sql.NullInt64
	attempts       string
	latencyMS, day int64
}

func toGenerationRow(g *store.Generation, now time.Time) (generationRow, error) {
	if g.ID == "" {
		return generationRow{}, errors.New("generation with an empty id")
	}
	created, err := store.UnixNanos(store.OrNow(g.CreatedAt, now))
	if err != nil {
		return generationRow{}, fmt.Errorf("generation %s: created_at: %w", g.ID, err)
	}
	attempts := g.Attempts
	if attempts == "" {
		attempts = "[]"
	}
	return generationRow{
		g:         g,
		createdAt: created,
		latencyMS: g.Latency.Milliseconds(),
		ttft:      durationMS(g.TimeToFirst),
		genTime:   durationMS(g.GenerationTime),
		attempts:  attempts,
		day:       store.UnixDay(created),
	}, nil
}

// durationMS is the stored form of a duration that may not have been
// measured: whole milliseconds, NULL for zero.
func durationMS(d time.Duration) sql.NullInt64 {
	if d == 0 {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: d.Milliseconds(), Valid: true}
}

// rollupKey is the primary key of usage_rollups.
type rollupKey struct {
	day                                      int64
	accountID, keyHash, model, provider, app string
}

type rollupSum struct {
	requests, prompt, completion, cached, reasoning, errors int64
	cost                                                    money.Nanos
	latency, ttft                                           store.Histogram
}

// rollupSums are the rollup increments of a batch, in first-seen order.
type rollupSums struct {
	sums  map[rollupKey]*rollupSum
	order []rollupKey
}

func (s *rollupSums) add(r *generationRow) {
	g := r.g
	k := rollupKey{day: r.day, accountID: g.AccountID, keyHash: g.KeyHash, model: g.Model, provider: g.Provider, app: store.App(g)}
	sum, ok := s.sums[k]
	if !ok {
		if s.sums == nil {
			s.sums = map[rollupKey]*rollupSum{}
		}
		sum = &rollupSum{}
		s.sums[k] = sum
		s.order = append(s.order, k)
	}
	sum.requests++
	sum.prompt += g.TokensPrompt
	sum.completion += g.TokensCompletion
	sum.cached += g.TokensCached
	sum.reasoning += g.TokensReasoning
	sum.cost += g.Cost
	if store.IsError(g) {
		sum.errors++
	}
	sum.latency.Add(r.latencyMS)
	if g.TimeToFirst > 0 {
		sum.ttft.Add(g.TimeToFirst.Milliseconds())
	}
}

// insertGenerations inserts gens, skipping those stored already, and
// returns the rollup increments of those it inserted.
// genGroup is how many generations one INSERT statement carries: per-row
// statement overhead (reset, unbind, the VM's start, database/sql's
// bookkeeping) is paid once per group. 32 rows × 25 parameters stays far
// below SQLite's limit of 32,766.
const genGroup = 32

// insertGenerationsSQL inserts n generations, skipping ids already stored
// (the ledger writer may write a batch again after a failure whose outcome
// it could not know), and returns the ids it inserted.
func insertGenerationsSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO generations (" + generationColumns + ") VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	b.WriteString(" ON CONFLICT (id) DO NOTHING RETURNING id")
	return b.String()
}

var insertGenerationGroupSQL = insertGenerationsSQL(genGroup)

func insertGenerations(ctx context.Context, tx *sql.Tx, gens []generationRow) (rollupSums, error) {
	var sums rollupSums
	var full *sql.Stmt
	if len(gens) >= genGroup {
		var err error
		if full, err = tx.PrepareContext(ctx, insertGenerationGroupSQL); err != nil {
			return sums, err
		}
		defer full.Close()
	}
	args := make([]any, 0, genGroup*25)
	for start := 0; start < len(gens); start += genGroup {
		group := gens[start:min(start+genGroup, len(gens))]
		args = args[:0]
		for i := range group {
			r := &group[i]
			g := r.g
			args = append(args,
				g.ID, g.RequestID, g.KeyHash, g.AccountID, g.Model, g.Provider, g.UpstreamModel,
				g.TokensPrompt, g.TokensCompletion, g.TokensCached, g.TokensReasoning, int64(g.Cost), g.UsageEstimated,
				g.Status, g.ErrorCode, g.FinishReason, g.Streamed, g.Cancelled, r.latencyMS, r.ttft, r.genTime,
				g.Origin, g.AppTitle, r.attempts, r.createdAt)
		}
		var (
			rows *sql.Rows
			err  error
		)
		if len(group) == genGroup {
			rows, err = full.QueryContext(ctx, args...)
		} else {
			rows, err = tx.QueryContext(ctx, insertGenerationsSQL(len(group)), args...)
		}
		if err != nil {
			return sums, fmt.Errorf("generations %s…: %w", group[0].g.ID, err)
		}
		// Only what was inserted now counts towards the usage rollups: a
		// generation written by an earlier try of this batch already did.
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return sums, err
			}
			for i := range group {
				if group[i].g.ID == id {
					sums.add(&group[i])
					break
				}
			}
		}
		if err := rows.Close(); err != nil {
			return sums, err
		}
		if err := rows.Err(); err != nil {
			return sums, fmt.Errorf("generations %s…: %w", group[0].g.ID, err)
		}
	}
	return sums, nil
}

// chargeRow is a Charge in its stored form.
type chargeRow struct {
	c           *store.Charge
	periodStart sql.NullInt64
	at          int64
}

func toChargeRow(c *store.Charge, now time.Time) (chargeRow, error) {
	if c.GenerationID == "" {
		// The generation id is what makes a charge idempotent.
		return chargeRow{}, errors.New("charge with an empty generation id")
	}
	if c.Amount <= 0 {
		return chargeRow{}, fmt.Errorf("charge of generation %s: amount $%s is not positive", c.GenerationID, c.Amount)
	}
	r := chargeRow{c: c}
	var err error
	if r.at, err = store.UnixNanos(store.OrNow(c.At, now)); err != nil {
		return chargeRow{}, fmt.Errorf("charge of generation %s: at: %w", c.GenerationID, err)
	}
	if c.KeyPeriodStart != nil {
		n, err := store.UnixNanos(*c.KeyPeriodStart)
		if err != nil {
			return chargeRow{}, fmt.Errorf("charge of generation %s: key period start: %w", c.GenerationID, err)
		}
		r.periodStart = sql.NullInt64{Int64: n, Valid: true}
	}
	return r, nil
}

// keyCharge is the sum of consecutive charges of one key in one period.
type keyCharge struct {
	hash        string
	periodStart sql.NullInt64
	amount      money.Nanos
}

// applyCharges appends the ledger entries of charges, skipping those of
// generations charged already, and adds the others to the balances.
// chargeGroup is how many charges one INSERT statement carries (see genGroup).
const chargeGroup = 64

// insertChargesSQL inserts n charges, skipping generations charged already,
// and returns the generation ids it charged.
func insertChargesSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ledger_entries (account_id, key_hash, kind, amount_nanos, generation_id, created_at) VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, '" + store.EntryCharge + "', ?, ?, ?)")
	}
	b.WriteString(" ON CONFLICT (generation_id) WHERE kind = '" + store.EntryCharge + "' DO NOTHING RETURNING generation_id")
	return b.String()
}

var insertChargeGroupSQL = insertChargesSQL(chargeGroup)

func applyCharges(ctx context.Context, tx *sql.Tx, charges []chargeRow) error {
	var full *sql.Stmt
	if len(charges) >= chargeGroup {
		var err error
		if full, err = tx.PrepareContext(ctx, insertChargeGroupSQL); err != nil {
			return err
		}
		defer full.Close()
	}
	var (
		accounts     = map[string]money.Nanos{}
		accountOrder []string
		keys         []keyCharge
		lastOfKey    = map[string]int{} // index in keys of the key's latest sum
		args         = make([]any, 0, chargeGroup*5)
		inserted     [chargeGroup]bool
	)
	for start := 0; start < len(charges); start += chargeGroup {
		group := charges[start:min(start+chargeGroup, len(charges))]
		args = args[:0]
		for i := range group {
			c := group[i].c
			args = append(args, c.AccountID, c.KeyHash, -int64(c.Amount), c.GenerationID, group[i].at)
		}
		var (
			rows *sql.Rows
			err  error
		)
		if len(group) == chargeGroup {
			rows, err = full.QueryContext(ctx, args...)
		} else {
			rows, err = tx.QueryContext(ctx, insertChargesSQL(len(group)), args...)
		}
		if err != nil {
			return fmt.Errorf("charges of generations %s…: %w", group[0].c.GenerationID, err)
		}
		clear(inserted[:])
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			for i := range group {
				if group[i].c.GenerationID == id {
					inserted[i] = true
					break
				}
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("charges of generations %s…: %w", group[0].c.GenerationID, err)
		}
		// In the batch's order: the key sums below depend on it.
		for i := range group {
			if !inserted[i] {
				continue // charged already
			}
			r := &group[i]
			c := r.c
			if _, ok := accounts[c.AccountID]; !ok {
				accountOrder = append(accountOrder, c.AccountID)
			}
			accounts[c.AccountID] += c.Amount
			// Summing two charges of a key is exact when they are of the same
			// period and no charge of another period of the key lies between
			// them: chargeKeySQL then does to the sum what it does to each.
			if j, ok := lastOfKey[c.KeyHash]; ok && keys[j].periodStart == r.periodStart {
				keys[j].amount += c.Amount
				continue
			}
			lastOfKey[c.KeyHash] = len(keys)
			keys = append(keys, keyCharge{hash: c.KeyHash, periodStart: r.periodStart, amount: c.Amount})
		}
	}

	if len(keys) > 0 {
		stmt, err := tx.PrepareContext(ctx, chargeKeySQL)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, k := range keys {
			if _, err := stmt.ExecContext(ctx, k.periodStart, int64(k.amount), k.hash); err != nil {
				return fmt.Errorf("charge key %s: %w", k.hash, err)
			}
		}
	}
	if len(accountOrder) > 0 {
		stmt, err := tx.PrepareContext(ctx, chargeAccountSQL)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, id := range accountOrder {
			if _, err := stmt.ExecContext(ctx, int64(accounts[id]), id); err != nil {
				return fmt.Errorf("charge account %s: %w", id, err)
			}
		}
	}
	return nil
}

func addRollups(ctx context.Context, tx *sql.Tx, s *rollupSums) error {
	stmt, err := tx.PrepareContext(ctx, addRollupSQL)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, k := range s.order {
		sum := s.sums[k]
		latency, _ := sum.latency.MarshalBinary() // counts are never negative
		ttft, _ := sum.ttft.MarshalBinary()
		_, err := stmt.ExecContext(ctx, k.day, k.accountID, k.keyHash, k.model, k.provider, k.app,
			sum.requests, sum.prompt, sum.completion, sum.cached, sum.reasoning, int64(sum.cost),
			sum.errors, latency, ttft)
		if err != nil {
			return fmt.Errorf("usage rollup: %w", err)
		}
	}
	return nil
}

// LoadBalances returns every account's credits and spend and every
// undeleted key's usage, read in one snapshot.
func (db *DB) LoadBalances(ctx context.Context) ([]store.AccountBalance, []store.KeyUsage, error) {
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, nil, fmt.Errorf("load balances: %w", err)
	}
	defer tx.Rollback()
	accounts, err := loadAccountBalances(ctx, tx)
	if err != nil {
		return nil, nil, fmt.Errorf("load balances: %w", err)
	}
	keys, err := loadKeyUsage(ctx, tx)
	if err != nil {
		return nil, nil, fmt.Errorf("load balances: %w", err)
	}
	return accounts, keys, nil
}

func loadAccountBalances(ctx context.Context, tx *sql.Tx) ([]store.AccountBalance, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, credits_nanos, spent_nanos FROM accounts ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var balances []store.AccountBalance
	for rows.Next() {
		var (
			b       store.AccountBalance
			credits sql.NullInt64
			spent   int64
		)
		if err := rows.Scan(&b.ID, &credits, &spent); err != nil {
			return nil, err
		}
		b.Credits = nanosOrNil(credits)
		b.Spent = money.Nanos(spent)
		balances = append(balances, b)
	}
	return balances, rows.Err()
}

func loadKeyUsage(ctx context.Context, tx *sql.Tx) ([]store.KeyUsage, error) {
	rows, err := tx.QueryContext(ctx, `SELECT hash, usage_nanos, usage_period_start, total_usage_nanos
		FROM api_keys WHERE deleted_at IS NULL ORDER BY hash`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var usage []store.KeyUsage
	for rows.Next() {
		var (
			u           store.KeyUsage
			period, tot int64
			periodStart sql.NullInt64
		)
		if err := rows.Scan(&u.Hash, &period, &periodStart, &tot); err != nil {
			return nil, err
		}
		u.PeriodUsage = money.Nanos(period)
		u.PeriodStart = nullTime(periodStart)
		u.TotalUsage = money.Nanos(tot)
		usage = append(usage, u)
	}
	return usage, rows.Err()
}
