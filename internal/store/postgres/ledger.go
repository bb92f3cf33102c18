package postgres

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

const generationColumns = `id, request_id, key_hash, account_id, model_requested, provider, upstream_model,
	tokens_prompt, tokens_completion, tokens_cached, tokens_reasoning, cost_nanos, usage_estimated,
	status, error_code, finish_reason, streamed, cancelled, latency_ms, ttft_ms, generation_ms,
	origin, app_title, attempts, created_at`

// The statements of WriteBatch. Each writes all its rows in one statement
// (a multi-row INSERT of unnest of one array per column), however many the
// batch holds: one round trip and one plan for a whole batch. The
// generations and the charges' ledger entries of a batch that holds no
// stored record go in by COPY instead (see batchWrite).
const (
	// insertGenerationsSQL inserts the generations, skipping ids stored
	// already (a batch written again after a failure whose outcome the
	// ledger writer could not know), and returns the ids it inserted.
	insertGenerationsSQL = `INSERT INTO generations (` + generationColumns + `)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
			$8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::boolean[],
			$14::integer[], $15::text[], $16::text[], $17::boolean[], $18::boolean[], $19::bigint[], $20::bigint[], $21::bigint[],
			$22::text[], $23::text[], $24::text[], $25::bigint[])
		ON CONFLICT (id) DO NOTHING RETURNING id`

	// insertChargesSQL appends the charges' ledger entries, skipping
	// generations charged already, and returns the generation ids it charged.
	insertChargesSQL = `INSERT INTO ledger_entries (account_id, key_hash, kind, amount_nanos, generation_id, created_at)
		SELECT a, k, '` + store.EntryCharge + `', m, g, t FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[]) AS c(a, k, m, g, t)
		ON CONFLICT (generation_id) WHERE kind = '` + store.EntryCharge + `' DO NOTHING RETURNING generation_id`

	// chargeKeySQL adds $2 to a key's usage in the period starting at $1;
	// see store/sqlite's chargeKeySQL for the periods' rules.
	chargeKeySQL = `UPDATE api_keys SET
		usage_nanos = CASE
			WHEN $1::bigint IS NULL OR usage_period_start = $1 THEN usage_nanos + $2
			WHEN usage_period_start IS NULL OR usage_period_start < $1 THEN $2
			ELSE usage_nanos END,
		usage_period_start = CASE
			WHEN $1 IS NOT NULL AND (usage_period_start IS NULL OR usage_period_start < $1) THEN $1
			ELSE usage_period_start END,
		total_usage_nanos = total_usage_nanos + $2
		WHERE hash = $3`

	chargeAccountSQL = `UPDATE accounts SET spent_nanos = spent_nanos + $1 WHERE id = $2`
)

// rollupTable is a table of usage rollups the ledger writer adds each batch
// to: usage_rollups (per day, account, key, model, provider and app),
// usage_rollups_all (per day, model, provider and app: migration 0016),
// usage_rollups_8d (as usage_rollups, per block of 8 days: 0016) and
// usage_rollups_keys (per day, account and key: 0018).
// Its statements take the batch's rollups of the table, in the order of
// compareRollups: ensure creates those that do not exist yet, empty; lock
// then locks them all, in order, and reads their histograms, which the
// writer merges in Go (migration 0015) and writes back with update.
type rollupTable struct {
	ensure, lock, update string
	dims                 rollupDims
}

// rollupDims is what a rollup table is keyed by besides the day.
type rollupDims uint8

const (
	byKey   rollupDims = 1 << iota // account_id, key_hash
	byModel                        // model, provider, app
)

func newRollupTable(name string, dims rollupDims) rollupTable {
	cols, types, vars := []string{"day"}, []string{"bigint"}, []string{"d"}
	if dims&byKey != 0 {
		cols, types, vars = append(cols, "account_id", "key_hash"), append(types, "text", "text"), append(vars, "a", "k")
	}
	if dims&byModel != 0 {
		cols, types, vars = append(cols, "model", "provider", "app"), append(types, "text", "text", "text"), append(vars, "m", "p", "app")
	}
	params := make([]string, len(cols))
	for i, t := range types {
		params[i] = fmt.Sprintf("$%d::%s[]", i+1, t)
	}
	n := len(cols)
	key, vs := strings.Join(cols, ", "), strings.Join(vars, ", ")
	keys := `unnest(` + strings.Join(params, ", ") + `) WITH ORDINALITY AS t(` + vs + `, i)`
	match := `(u.` + strings.Join(cols, ", u.") + `) = (t.` + strings.Join(vars, ", t.") + `)`
	return rollupTable{
		dims: dims,
		ensure: `INSERT INTO ` + name + ` (` + key + `) SELECT ` + vs + ` FROM ` + keys + ` ORDER BY i
			ON CONFLICT (` + key + `) DO NOTHING`,
		lock: `SELECT u.latency_hist, u.ttft_hist FROM ` + keys + `
			JOIN ` + name + ` u ON ` + match + ` ORDER BY t.i FOR UPDATE OF u`,
		update: `UPDATE ` + name + ` AS u SET
			requests = u.requests + t.r,
			tokens_prompt = u.tokens_prompt + t.tp,
			tokens_completion = u.tokens_completion + t.tc,
			tokens_cached = u.tokens_cached + t.tca,
			tokens_reasoning = u.tokens_reasoning + t.tr,
			cost_nanos = u.cost_nanos + t.c,
			errors = u.errors + t.e,
			latency_hist = t.lh,
			ttft_hist = t.th
			FROM unnest(` + strings.Join(params, ", ") + fmt.Sprintf(`,
				$%d::bigint[], $%d::bigint[], $%d::bigint[], $%d::bigint[], $%d::bigint[], $%d::bigint[], $%d::bigint[],
				$%d::bytea[], $%d::bytea[])`, n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9) + `
				AS t(` + vs + `, r, tp, tc, tca, tr, c, e, lh, th)
			WHERE ` + match,
	}
}

// The rollup tables, in the order WriteBatch locks their rows, and how
// each one's rows are usage_rollups' regrouped (nil: usage_rollups).
var (
	rollupTables = [...]rollupTable{newRollupTable("usage_rollups", byKey|byModel), newRollupTable("usage_rollups_all", byModel),
		newRollupTable("usage_rollups_8d", byKey|byModel), newRollupTable("usage_rollups_keys", byKey)}
	rollupRegroup = [len(rollupTables)]func(r *rollup) rollupKey{
		nil,
		func(r *rollup) rollupKey {
			return rollupKey{day: r.day, model: r.model, provider: r.provider, app: r.app}
		},
		func(r *rollup) rollupKey {
			return rollupKey{day: blockOf(r.day), accountID: r.accountID, keyHash: r.keyHash, model: r.model, provider: r.provider, app: r.app}
		},
		func(r *rollup) rollupKey {
			return rollupKey{day: r.day, accountID: r.accountID, keyHash: r.keyHash}
		},
	}
)

// WriteBatch inserts the generations of b, applies its charges and adds the
// new generations to the usage rollups, in one transaction, with the
// semantics of store/sqlite's WriteBatch: idempotent (a stored generation
// or an applied charge is skipped), charges summed per account and per key
// and period, zero times meaning now.
//
// Rows are updated in a fixed order (keys by hash, accounts by id, rollups
// by their primary key), so that two gateway instances writing batches at
// once wait for each other instead of deadlocking.
func (db *DB) WriteBatch(ctx context.Context, b *store.Batch) (err error) {
	defer func() { err = schemaError(err) }()
	b.CleanText()
	now := db.now()
	gens, err := newGenerationColumns(b.Generations, now)
	if err != nil {
		return fmt.Errorf("write batch: %w", err)
	}
	charges, err := newChargeColumns(b.Charges, now)
	if err != nil {
		return fmt.Errorf("write batch: %w", err)
	}
	wantKeys, wantAccounts := references(b)
	if len(wantKeys) == 0 && len(wantAccounts) == 0 {
		return nil // nothing to write
	}
	w := &batchWrite{b: b, gens: gens, charges: charges, keys: wantKeys, accounts: wantAccounts, copy: true}
	err = db.inTx(ctx, func(tx pgx.Tx) error { return w.run(ctx, tx) })
	if isCode(err, uniqueViolation) {
		// A generation or a charge of the batch is stored already (the
		// batch is written again after a failure whose outcome the ledger
		// writer could not know), or an id is in it twice: COPY cannot
		// skip those, the INSERTs can.
		w.copy = false
		db.rewrites.Add(1)
		err = db.inTx(ctx, func(tx pgx.Tx) error { return w.run(ctx, tx) })
	}
	if err != nil {
		return fmt.Errorf("write batch: %w", err)
	}
	return nil
}

// batchWrite is one WriteBatch's transaction.
//
// With copy set, the generations and the charges' ledger entries go in by
// COPY in the binary format, encoded here a buffer at a time (copyReader);
// a conflict with a stored row fails the transaction, and WriteBatch writes the batch again
// without copy: multi-row INSERTs (one unnest array per column) that skip
// stored rows. Those are as fast for the database, but pgx builds their
// parameters by growing one buffer per statement to the whole batch's
// size (hundreds of KiB, reallocated tens of times, each time on fresh
// pages): that was most of the ledger's CPU in the gateway's process.
type batchWrite struct {
	b              *store.Batch
	gens           *generationArrays
	charges        *chargeArrays
	keys, accounts []string
	copy           bool
}

func (w *batchWrite) run(ctx context.Context, tx pgx.Tx) error {
	b := w.b
	// Round trips after BEGIN: the reference check (with the INSERTs
	// pipelined behind it, or followed by the COPYs; a failed check rolls
	// them back with the transaction), then the updates that depend on
	// what was inserted, then the rollups' sums.
	var inserts pgx.Batch
	inserts.Queue(lockReferencesSQL, w.keys, w.accounts)
	if !w.copy && len(b.Generations) > 0 {
		queueGenerations(&inserts, w.gens)
	}
	if !w.copy && len(b.Charges) > 0 {
		queueCharges(&inserts, w.charges)
	}
	br := tx.SendBatch(ctx, &inserts)
	defer br.Close()
	if err := checkReferences(br.QueryRow(), w.keys, w.accounts); err != nil {
		return err
	}
	var insertedGens, insertedCharges []string
	if w.copy {
		if err := br.Close(); err != nil {
			return err
		}
		pc := tx.Conn().PgConn()
		if len(b.Generations) > 0 {
			if _, err := pc.CopyFrom(ctx, &copyReader{rows: len(w.gens.id), row: w.gens.appendRow}, copyGenerationsSQL); err != nil {
				return fmt.Errorf("generations %s…: %w", b.Generations[0].ID, err)
			}
			insertedGens = w.gens.id
		}
		if len(b.Charges) > 0 {
			if _, err := pc.CopyFrom(ctx, &copyReader{rows: len(w.charges.generationID), row: w.charges.appendRow}, copyChargesSQL); err != nil {
				return fmt.Errorf("charges of generations %s…: %w", b.Charges[0].GenerationID, err)
			}
			insertedCharges = w.charges.generationID
		}
	} else {
		var err error
		if len(b.Generations) > 0 {
			if insertedGens, err = returnedIDs(br); err != nil {
				return fmt.Errorf("generations %s…: %w", b.Generations[0].ID, err)
			}
		}
		if len(b.Charges) > 0 {
			if insertedCharges, err = returnedIDs(br); err != nil {
				return fmt.Errorf("charges of generations %s…: %w", b.Charges[0].GenerationID, err)
			}
		}
		if err := br.Close(); err != nil {
			return err
		}
	}
	var (
		rollups [len(rollupTables)][]rollup
		updates pgx.Batch
	)
	if len(b.Generations) > 0 {
		rollups[0] = generationRollups(insertedGens, b.Generations, w.gens)
		for i, key := range rollupRegroup[1:] {
			rollups[i+1] = regroup(rollups[0], key)
		}
	}
	if len(b.Charges) > 0 {
		queueBalances(&updates, insertedCharges, b.Charges, w.charges)
	}
	// Balances first, then the rollups of each table (created if new,
	// locked and read) in the same round trip; then the rollups' new
	// sums, in one more. Every table's rows are locked in one order,
	// and the tables in one order, so writers never deadlock.
	balances := updates.Len()
	var keys [len(rollupTables)][]any // each table's rollup keys, for ensure, lock and update
	if len(rollups[0]) > 0 {
		for i, t := range rollupTables {
			keys[i] = rollupKeyArrays(rollups[i], t.dims)
			updates.Queue(t.ensure, keys[i]...)
			updates.Queue(t.lock, keys[i]...)
		}
	}
	if updates.Len() == 0 {
		return nil
	}
	ur := tx.SendBatch(ctx, &updates)
	defer ur.Close()
	for range balances {
		if _, err := ur.Exec(); err != nil {
			return fmt.Errorf("balances: %w", err)
		}
	}
	if len(rollups[0]) == 0 {
		return ur.Close()
	}
	var sums pgx.Batch
	for i, t := range rollupTables {
		if _, err := ur.Exec(); err != nil {
			return fmt.Errorf("usage rollups: %w", err)
		}
		if err := mergeRollupHistograms(ur, rollups[i]); err != nil {
			return fmt.Errorf("usage rollups: %w", err)
		}
		sums.Queue(t.update, rollupArrays(rollups[i], keys[i])...)
	}
	if err := ur.Close(); err != nil {
		return fmt.Errorf("usage rollups: %w", err)
	}
	if err := tx.SendBatch(ctx, &sums).Close(); err != nil {
		return fmt.Errorf("usage rollups: %w", err)
	}
	return nil
}

// returnedIDs reads the ids an INSERT … RETURNING of the batch returned.
func returnedIDs(br pgx.BatchResults) ([]string, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	return collectRows(rows, pgx.RowTo[string])
}

// lockReferencesSQL locks the keys $1 and the accounts $2 that exist
// FOR KEY SHARE, in the fixed order of WriteBatch, and returns them: what
// a foreign key's check does for one row, done once for a whole batch.
const lockReferencesSQL = `WITH k AS (SELECT hash FROM api_keys WHERE hash = ANY($1::text[]) ORDER BY hash FOR KEY SHARE),
		a AS (SELECT id FROM accounts WHERE id = ANY($2::text[]) ORDER BY id FOR KEY SHARE)
	SELECT ARRAY(SELECT hash FROM k), ARRAY(SELECT id FROM a)`

// references returns the distinct keys and accounts the batch's
// generations and charges name, sorted.
func references(b *store.Batch) (keys, accounts []string) {
	ks, as := map[string]bool{}, map[string]bool{}
	for i := range b.Generations {
		ks[b.Generations[i].KeyHash], as[b.Generations[i].AccountID] = true, true
	}
	for i := range b.Charges {
		ks[b.Charges[i].KeyHash], as[b.Charges[i].AccountID] = true, true
	}
	return slices.Sorted(maps.Keys(ks)), slices.Sorted(maps.Keys(as))
}

// checkReferences reads lockReferencesSQL's row and fails unless every key
// and account of the batch exists; they stay locked against deletion until
// the transaction ends. The tables of the ledger have no foreign keys
// (migration 0006): checking each row was half of a batch's time.
func checkReferences(row pgx.Row, wantKeys, wantAccounts []string) error {
	var foundKeys, foundAccounts []string
	if err := row.Scan(&foundKeys, &foundAccounts); err != nil {
		return fmt.Errorf("check keys and accounts: %w", err)
	}
	if k, ok := firstMissing(wantKeys, foundKeys); ok {
		return fmt.Errorf("key %q: %w", k, store.ErrNotFound)
	}
	if a, ok := firstMissing(wantAccounts, foundAccounts); ok {
		return fmt.Errorf("account %q: %w", a, store.ErrNotFound)
	}
	return nil
}

// firstMissing returns the first of want that found lacks.
func firstMissing(want, found []string) (string, bool) {
	if len(found) == len(want) {
		return "", false
	}
	have := make(map[string]bool, len(found))
	for _, f := range found {
		have[f] = true
	}
	for _, w := range want {
		if !have[w] {
			return w, true
		}
	}
	return "", false
}

// generationArrays holds a batch's generations column by column, in
// their stored form, as insertGenerationsSQL takes them.
type generationArrays struct {
	id, requestID, keyHash, accountID, model, provider, upstreamModel []string
	prompt, completion, cached, reasoning, cost                       []int64
	estimated                                                         []bool
	status                                                            []int32
	errorCode, finishReason                                           []string
	streamed, cancelled                                               []bool
	latency                                                           []int64
	ttft, genTime                                                     []*int64
	origin, appTitle, attempts                                        []string
	created                                                           []int64
}

func newGenerationColumns(gs []store.Generation, now time.Time) (*generationArrays, error) {
	n := len(gs)
	c := &generationArrays{
		id: make([]string, 0, n), requestID: make([]string, 0, n), keyHash: make([]string, 0, n), accountID: make([]string, 0, n),
		model: make([]string, 0, n), provider: make([]string, 0, n), upstreamModel: make([]string, 0, n),
		prompt: make([]int64, 0, n), completion: make([]int64, 0, n), cached: make([]int64, 0, n), reasoning: make([]int64, 0, n),
		cost: make([]int64, 0, n), estimated: make([]bool, 0, n), status: make([]int32, 0, n),
		errorCode: make([]string, 0, n), finishReason: make([]string, 0, n), streamed: make([]bool, 0, n), cancelled: make([]bool, 0, n),
		latency: make([]int64, 0, n), ttft: make([]*int64, 0, n), genTime: make([]*int64, 0, n),
		origin: make([]string, 0, n), appTitle: make([]string, 0, n), attempts: make([]string, 0, n), created: make([]int64, 0, n),
	}
	for i := range gs {
		g := &gs[i]
		if g.ID == "" {
			return nil, errors.New("generation with an empty id")
		}
		created, err := store.UnixNanos(store.OrNow(g.CreatedAt, now))
		if err != nil {
			return nil, fmt.Errorf("generation %s: created_at: %w", g.ID, err)
		}
		attempts := g.Attempts
		if attempts == "" {
			attempts = "[]"
		}
		c.id = append(c.id, g.ID)
		c.requestID = append(c.requestID, g.RequestID)
		c.keyHash = append(c.keyHash, g.KeyHash)
		c.accountID = append(c.accountID, g.AccountID)
		c.model = append(c.model, g.Model)
		c.provider = append(c.provider, g.Provider)
		c.upstreamModel = append(c.upstreamModel, g.UpstreamModel)
		c.prompt = append(c.prompt, g.TokensPrompt)
		c.completion = append(c.completion, g.TokensCompletion)
		c.cached = append(c.cached, g.TokensCached)
		c.reasoning = append(c.reasoning, g.TokensReasoning)
		c.cost = append(c.cost, int64(g.Cost))
		c.estimated = append(c.estimated, g.UsageEstimated)
		c.status = append(c.status, int32(g.Status))
		c.errorCode = append(c.errorCode, g.ErrorCode)
		c.finishReason = append(c.finishReason, g.FinishReason)
		c.streamed = append(c.streamed, g.Streamed)
		c.cancelled = append(c.cancelled, g.Cancelled)
		c.latency = append(c.latency, g.Latency.Milliseconds())
		c.ttft = append(c.ttft, durationMS(g.TimeToFirst))
		c.genTime = append(c.genTime, durationMS(g.GenerationTime))
		c.origin = append(c.origin, g.Origin)
		c.appTitle = append(c.appTitle, g.AppTitle)
		c.attempts = append(c.attempts, attempts)
		c.created = append(c.created, created)
	}
	return c, nil
}

// copyGenerationsSQL copies generations in generationColumns' order
// (generationArrays.appendRow).
var copyGenerationsSQL = "COPY generations (" + generationColumns + ") FROM STDIN (FORMAT binary)"

// appendRow appends generation i as a row of binary COPY, in
// generationColumns' order.
func (c *generationArrays) appendRow(b []byte, i int) []byte {
	b = binary.BigEndian.AppendUint16(b, 25)
	b = copyText(b, c.id[i])
	b = copyText(b, c.requestID[i])
	b = copyText(b, c.keyHash[i])
	b = copyText(b, c.accountID[i])
	b = copyText(b, c.model[i])
	b = copyText(b, c.provider[i])
	b = copyText(b, c.upstreamModel[i])
	b = copyInt8(b, c.prompt[i])
	b = copyInt8(b, c.completion[i])
	b = copyInt8(b, c.cached[i])
	b = copyInt8(b, c.reasoning[i])
	b = copyInt8(b, c.cost[i])
	b = copyBool(b, c.estimated[i])
	b = copyInt4(b, c.status[i])
	b = copyText(b, c.errorCode[i])
	b = copyText(b, c.finishReason[i])
	b = copyBool(b, c.streamed[i])
	b = copyBool(b, c.cancelled[i])
	b = copyInt8(b, c.latency[i])
	b = copyInt8OrNull(b, c.ttft[i])
	b = copyInt8OrNull(b, c.genTime[i])
	b = copyText(b, c.origin[i])
	b = copyText(b, c.appTitle[i])
	b = copyText(b, c.attempts[i])
	return copyInt8(b, c.created[i])
}

// durationMS is the stored form of a duration that may not have been
// measured: whole milliseconds, NULL for zero.
func durationMS(d time.Duration) *int64 {
	if d == 0 {
		return nil
	}
	ms := d.Milliseconds()
	return &ms
}

// rollup is one usage_rollups row's increment.
type rollup struct {
	day                                             int64
	accountID, keyHash, model, provider, app        string
	requests, prompt, completion, cached, reasoning int64
	cost, errors                                    int64
	latency, ttft                                   store.Histogram
}

// rollupKey is the primary key of usage_rollups.
type rollupKey struct {
	day                                      int64
	accountID, keyHash, model, provider, app string
}

func compareRollups(a, b rollup) int {
	return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.accountID, b.accountID),
		cmp.Compare(a.keyHash, b.keyHash), cmp.Compare(a.model, b.model), cmp.Compare(a.provider, b.provider),
		cmp.Compare(a.app, b.app))
}

// queueGenerations queues the INSERT of the generations, which skips
// those stored already.
func queueGenerations(b *pgx.Batch, c *generationArrays) {
	b.Queue(insertGenerationsSQL,
		c.id, c.requestID, c.keyHash, c.accountID, c.model, c.provider, c.upstreamModel,
		c.prompt, c.completion, c.cached, c.reasoning, c.cost, c.estimated,
		c.status, c.errorCode, c.finishReason, c.streamed, c.cancelled, c.latency, c.ttft, c.genTime,
		c.origin, c.appTitle, c.attempts, c.created)
}

// generationRollups returns the rollup increments of the generations
// whose ids are in inserted (what this write stored), sorted.
func generationRollups(insertedIDs []string, gs []store.Generation, c *generationArrays) []rollup {
	inserted := make(map[string]bool, len(insertedIDs))
	for _, id := range insertedIDs {
		inserted[id] = true
	}
	// Only what was inserted now counts towards the usage rollups: a
	// generation written by an earlier try of this batch already did.
	var rs []rollup
	index := map[rollupKey]int{}
	for i := range gs {
		g := &gs[i]
		if !inserted[g.ID] {
			continue
		}
		inserted[g.ID] = false // a duplicate id within the batch was inserted once
		k := rollupKey{day: store.UnixDay(c.created[i]), accountID: g.AccountID, keyHash: g.KeyHash, model: g.Model, provider: g.Provider, app: store.App(g)}
		j, ok := index[k]
		if !ok {
			j = len(rs)
			index[k] = j
			rs = append(rs, rollup{day: k.day, accountID: k.accountID, keyHash: k.keyHash, model: k.model, provider: k.provider, app: k.app})
		}
		r := &rs[j]
		r.requests++
		r.prompt += g.TokensPrompt
		r.completion += g.TokensCompletion
		r.cached += g.TokensCached
		r.reasoning += g.TokensReasoning
		r.cost += int64(g.Cost)
		if store.IsError(g) {
			r.errors++
		}
		r.latency.Add(g.Latency.Milliseconds())
		if g.TimeToFirst > 0 {
			r.ttft.Add(g.TimeToFirst.Milliseconds())
		}
	}
	slices.SortFunc(rs, compareRollups)
	return rs
}

// rollupKeyArrays is the primary keys of rs as the arguments of a
// rollupTable's ensure and lock: the day, then the columns of dims.
func rollupKeyArrays(rs []rollup, dims rollupDims) []any {
	n := len(rs)
	day := make([]int64, 0, n)
	for _, r := range rs {
		day = append(day, r.day)
	}
	out := []any{day}
	column := func(f func(r *rollup) string) {
		c := make([]string, 0, n)
		for i := range rs {
			c = append(c, f(&rs[i]))
		}
		out = append(out, c)
	}
	if dims&byKey != 0 {
		column(func(r *rollup) string { return r.accountID })
		column(func(r *rollup) string { return r.keyHash })
	}
	if dims&byModel != 0 {
		column(func(r *rollup) string { return r.model })
		column(func(r *rollup) string { return r.provider })
		column(func(r *rollup) string { return r.app })
	}
	return out
}

// regroup is the rollups that rs (usage_rollups' increments) add up to
// when grouped by key: their sums per key, sorted.
func regroup(rs []rollup, key func(r *rollup) rollupKey) []rollup {
	var out []rollup
	index := map[rollupKey]int{}
	for i := range rs {
		r := &rs[i]
		k := key(r)
		j, ok := index[k]
		if !ok {
			j = len(out)
			index[k] = j
			out = append(out, rollup{day: k.day, accountID: k.accountID, keyHash: k.keyHash, model: k.model, provider: k.provider, app: k.app})
		}
		a := &out[j]
		a.requests += r.requests
		a.prompt += r.prompt
		a.completion += r.completion
		a.cached += r.cached
		a.reasoning += r.reasoning
		a.cost += r.cost
		a.errors += r.errors
		a.latency.Merge(r.latency)
		a.ttft.Merge(r.ttft)
	}
	slices.SortFunc(out, compareRollups)
	return out
}

// mergeRollupHistograms reads lockRollupsSQL's result, the stored
// histograms of rs in order, and adds them to rs's.
func mergeRollupHistograms(br pgx.BatchResults, rs []rollup) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		if i == len(rs) {
			return fmt.Errorf("read more than the %d rollups locked", len(rs))
		}
		raw := rows.RawValues()
		if err := rs[i].latency.MergeCompact(raw[0]); err != nil {
			return err
		}
		if err := rs[i].ttft.MergeCompact(raw[1]); err != nil {
			return err
		}
		i++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if i != len(rs) {
		return fmt.Errorf("locked %d of %d rollups", i, len(rs))
	}
	return nil
}

// rollupArrays is rs, their histograms merged with the stored ones, as the
// arguments of a rollupTable's update, after keys (rollupKeyArrays of rs).
func rollupArrays(rs []rollup, keys []any) []any {
	n := len(rs)
	var (
		requests, prompt, completion, cached, reasoning = make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n)
		cost, errors                                    = make([]int64, 0, n), make([]int64, 0, n)
		latency, ttft                                   = make([][]byte, 0, n), make([][]byte, 0, n)
	)
	for _, r := range rs {
		requests, prompt, completion = append(requests, r.requests), append(prompt, r.prompt), append(completion, r.completion)
		cached, reasoning, cost = append(cached, r.cached), append(reasoning, r.reasoning), append(cost, r.cost)
		errors = append(errors, r.errors)
		latency, ttft = append(latency, r.latency.AppendCompact(nil)), append(ttft, r.ttft.AppendCompact(nil))
	}
	return append(keys[:len(keys):len(keys)], requests, prompt, completion, cached, reasoning, cost, errors, latency, ttft)
}

// chargeArrays holds a batch's charges column by column, in their stored
// form, as insertChargesSQL takes them.
type chargeArrays struct {
	accountID, keyHash, generationID []string
	amount, at                       []int64
	periodStart                      []*int64
}

func newChargeColumns(cs []store.Charge, now time.Time) (*chargeArrays, error) {
	n := len(cs)
	a := &chargeArrays{accountID: make([]string, 0, n), keyHash: make([]string, 0, n), generationID: make([]string, 0, n),
		amount: make([]int64, 0, n), at: make([]int64, 0, n), periodStart: make([]*int64, 0, n)}
	for i := range cs {
		c := &cs[i]
		if c.GenerationID == "" {
			// The generation id is what makes a charge idempotent.
			return nil, errors.New("charge with an empty generation id")
		}
		if c.Amount <= 0 {
			return nil, fmt.Errorf("charge of generation %s: amount $%s is not positive", c.GenerationID, c.Amount)
		}
		at, err := store.UnixNanos(store.OrNow(c.At, now))
		if err != nil {
			return nil, fmt.Errorf("charge of generation %s: at: %w", c.GenerationID, err)
		}
		var period *int64
		if c.KeyPeriodStart != nil {
			n, err := store.UnixNanos(*c.KeyPeriodStart)
			if err != nil {
				return nil, fmt.Errorf("charge of generation %s: key period start: %w", c.GenerationID, err)
			}
			period = &n
		}
		a.accountID = append(a.accountID, c.AccountID)
		a.keyHash = append(a.keyHash, c.KeyHash)
		a.generationID = append(a.generationID, c.GenerationID)
		a.amount = append(a.amount, -int64(c.Amount))
		a.at = append(a.at, at)
		a.periodStart = append(a.periodStart, period)
	}
	return a, nil
}

// copyChargesSQL copies the charges' ledger entries, in the columns
// insertChargesSQL writes (chargeArrays.appendRow).
const copyChargesSQL = "COPY ledger_entries (account_id, key_hash, kind, amount_nanos, generation_id, created_at) FROM STDIN (FORMAT binary)"

// appendRow appends charge i's ledger entry as a row of binary COPY, in
// copyChargesSQL's columns.
func (a *chargeArrays) appendRow(b []byte, i int) []byte {
	b = binary.BigEndian.AppendUint16(b, 6)
	b = copyText(b, a.accountID[i])
	b = copyText(b, a.keyHash[i])
	b = copyText(b, store.EntryCharge)
	b = copyInt8(b, a.amount[i])
	b = copyText(b, a.generationID[i])
	return copyInt8(b, a.at[i])
}

// copyReader is the data of a binary COPY (PostgreSQL's "COPY … FROM STDIN
// (FORMAT binary)": a signature, then each row as a field count and each
// field as its length, -1 for NULL, and its bytes in the type's binary
// form, then -1), read a buffer at a time as rows are encoded: pgx's
// CopyFrom boxes every value in an interface and plans its encoding
// (twenty-five per generation), which cost more than the rest of a
// generation's write in the gateway's process.
type copyReader struct {
	rows    int
	row     func(b []byte, i int) []byte // appends row i
	next    int                          // the next row to encode; rows: the trailer
	buf     []byte
	off     int // what of buf was read
	started bool
}

// copySignature starts binary COPY data: the signature, no flags, no
// header extension.
const copySignature = "PGCOPY\n\xff\r\n\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00"

func (r *copyReader) Read(p []byte) (int, error) {
	if r.off == len(r.buf) {
		if r.next > r.rows {
			return 0, io.EOF
		}
		if r.buf == nil {
			r.buf = make([]byte, 0, len(p)+1024)
		}
		r.buf, r.off = r.buf[:0], 0
		if !r.started {
			r.buf = append(r.buf, copySignature...)
			r.started = true
		}
		for len(r.buf) < len(p) && r.next <= r.rows {
			if r.next < r.rows {
				r.buf = r.row(r.buf, r.next)
			} else {
				r.buf = append(r.buf, 0xff, 0xff) // the trailer: a field count of -1
			}
			r.next++
		}
	}
	n := copy(p, r.buf[r.off:])
	r.off += n
	return n, nil
}

func copyText(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func copyInt8(b []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(append(b, 0, 0, 0, 8), uint64(v))
}

func copyInt8OrNull(b []byte, v *int64) []byte {
	if v == nil {
		return append(b, 0xff, 0xff, 0xff, 0xff)
	}
	return copyInt8(b, *v)
}

func copyInt4(b []byte, v int32) []byte {
	return binary.BigEndian.AppendUint32(append(b, 0, 0, 0, 4), uint32(v))
}

func copyBool(b []byte, v bool) []byte {
	if v {
		return append(b, 0, 0, 0, 1, 1)
	}
	return append(b, 0, 0, 0, 1, 0)
}

// keyCharge is the sum of consecutive charges of one key in one period.
type keyCharge struct {
	hash        string
	periodStart *int64
	amount      money.Nanos
}

func samePeriod(a, b *int64) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

// queueCharges queues the INSERT of the charges' ledger entries, which
// skips those of generations charged already.
func queueCharges(b *pgx.Batch, a *chargeArrays) {
	b.Queue(insertChargesSQL, a.accountID, a.keyHash, a.amount, a.generationID, a.at)
}

// queueBalances queues onto updates the balance updates of the charges
// whose generation ids are in inserted (what this write stored).
func queueBalances(updates *pgx.Batch, insertedIDs []string, cs []store.Charge, a *chargeArrays) {
	inserted := make(map[string]bool, len(insertedIDs))
	for _, id := range insertedIDs {
		inserted[id] = true
	}
	var (
		accounts  = map[string]money.Nanos{}
		keys      []keyCharge
		lastOfKey = map[string]int{} // index in keys of the key's latest sum
	)
	// In the batch's order: the key sums depend on it.
	for i := range cs {
		c := &cs[i]
		if !inserted[c.GenerationID] {
			continue // charged already
		}
		inserted[c.GenerationID] = false
		accounts[c.AccountID] += c.Amount
		period := a.periodStart[i]
		// Summing two charges of a key is exact when they are of the same
		// period and no charge of another period of the key lies between
		// them: chargeKeySQL then does to the sum what it does to each.
		if j, ok := lastOfKey[c.KeyHash]; ok && samePeriod(keys[j].periodStart, period) {
			keys[j].amount += c.Amount
			continue
		}
		lastOfKey[c.KeyHash] = len(keys)
		keys = append(keys, keyCharge{hash: c.KeyHash, periodStart: period, amount: c.Amount})
	}
	// Keys in hash order (a stable sort keeps each key's periods in the
	// batch's order), accounts in id order: see WriteBatch.
	slices.SortStableFunc(keys, func(x, y keyCharge) int { return cmp.Compare(x.hash, y.hash) })
	for _, k := range keys {
		updates.Queue(chargeKeySQL, k.periodStart, int64(k.amount), k.hash)
	}
	for _, id := range slices.Sorted(maps.Keys(accounts)) {
		updates.Queue(chargeAccountSQL, int64(accounts[id]), id)
	}
}

// LoadBalances returns every account's credits and spend and every
// undeleted key's usage, read in one snapshot.
func (db *DB) LoadBalances(ctx context.Context) ([]store.AccountBalance, []store.KeyUsage, error) {
	var (
		accounts []store.AccountBalance
		keys     []store.KeyUsage
	)
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, credits_nanos, spent_nanos FROM accounts ORDER BY id`)
		if err != nil {
			return err
		}
		accounts, err = collectRows(rows, func(row pgx.CollectableRow) (store.AccountBalance, error) {
			var (
				b       store.AccountBalance
				credits *int64
				spent   int64
			)
			err := row.Scan(&b.ID, &credits, &spent)
			b.Credits, b.Spent = nanosOrNil(credits), money.Nanos(spent)
			return b, err
		})
		if err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT hash, usage_nanos, usage_period_start, total_usage_nanos
			FROM api_keys WHERE deleted_at IS NULL ORDER BY hash`)
		if err != nil {
			return err
		}
		keys, err = collectRows(rows, func(row pgx.CollectableRow) (store.KeyUsage, error) {
			var (
				u           store.KeyUsage
				period, tot int64
				periodStart *int64
			)
			err := row.Scan(&u.Hash, &period, &periodStart, &tot)
			u.PeriodUsage, u.PeriodStart, u.TotalUsage = money.Nanos(period), timeOrNil(periodStart), money.Nanos(tot)
			return u, err
		})
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("load balances: %w", err)
	}
	return accounts, keys, nil
}

// schemaError marks err as store.ErrSchema when PostgreSQL refused the
// statement for what it names rather than for the values: SQLSTATE class
// 42 (undefined column, table or function; insufficient privilege). An
// instance of an older release writing after a newer one migrated gets
// these on every batch; its records must wait, not be dropped.
func schemaError(err error) error {
	var pe *pgconn.PgError
	if err != nil && errors.As(err, &pe) && strings.HasPrefix(pe.Code, "42") {
		return fmt.Errorf("%w: %w", store.ErrSchema, err)
	}
	return err
}
