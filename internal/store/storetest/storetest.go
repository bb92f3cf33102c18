// Package storetest is the behaviour every store backend shares, as one
// suite of tests that each backend's package runs against itself
// (store/sqlite, store/postgres): the same calls, the same answers.
// Backend-specific behaviour (files, pragmas, pools, migrations' locking)
// is tested in the backend's own package.
package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// DB is what a backend provides to the gateway.
type DB interface {
	store.Store
	store.Billing
	store.Catalog
	store.Generations
	store.Users
	store.Sessions
	store.AuthCodes
}

// Row is a *sql.Row or a pgx.Row.
type Row interface {
	Scan(dest ...any) error
}

// Harness opens databases of one backend and reaches into them where the
// suite must look behind the interface.
type Harness struct {
	// Open returns a fresh, empty database (migrated, with only the default
	// account), closed when tb ends.
	Open func(tb testing.TB) DB
	// SetClock makes now the clock db stamps times with.
	SetClock func(db DB, now func() time.Time)
	// SetPruneChunk sets how many rows one statement of the prune methods
	// deletes.
	SetPruneChunk func(db DB, n int)
	// QueryRow runs query, written with ? placeholders, on db.
	QueryRow func(db DB, query string, args ...any) Row
	// ServerCPU, for a backend with a server of its own, is the CPU time
	// each of db's server processes (by process id) has used so far; the
	// throughput benchmark reports it per generation beside its own.
	ServerCPU func(tb testing.TB, db DB) map[int]time.Duration
}

// testDB is a database the suite opened.
type testDB struct {
	DB
	h *Harness
}

func (h *Harness) open(tb testing.TB) *testDB {
	tb.Helper()
	return &testDB{DB: h.Open(tb), h: h}
}

func (d *testDB) setClock(now func() time.Time) { d.h.SetClock(d.DB, now) }
func (d *testDB) setPruneChunk(n int)           { d.h.SetPruneChunk(d.DB, n) }
func (d *testDB) queryRow(query string, args ...any) Row {
	return d.h.QueryRow(d.DB, query, args...)
}

var tests = []struct {
	name string
	f    func(*testing.T, *Harness)
}{
	{"AccountCreateGetListUpdate", testAccountCreateGetListUpdate},
	{"AccountErrors", testAccountErrors},
	{"TopUp", testTopUp},
	{"TopUpRefusesToOverflowCredits", testTopUpRefusesToOverflowCredits},
	{"GetKeyReturnsLiveKeysAndNotFoundForDeletedOrAbsent", testGetKeyReturnsLiveKeysAndNotFoundForDeletedOrAbsent},
	{"KeyRoundTripsEveryField", testKeyRoundTripsEveryField},
	{"CreateKeyFillsDefaults", testCreateKeyFillsDefaults},
	{"TimesAreReadBackInUTC", testTimesAreReadBackInUTC},
	{"CreateKeyRejectsInvalidKeys", testCreateKeyRejectsInvalidKeys},
	{"CreateKeyUnknownAccountIsNotFound", testCreateKeyUnknownAccountIsNotFound},
	{"CreateKeyDuplicateHashConflicts", testCreateKeyDuplicateHashConflicts},
	{"DeletedKeyLeavesListButIsReportedChanged", testDeletedKeyLeavesListButIsReportedChanged},
	{"KeysChangedSinceBoundaries", testKeysChangedSinceBoundaries},
	{"UpdatedAtGrowsEvenWhenTheClockDoesNot", testUpdatedAtGrowsEvenWhenTheClockDoesNot},
	{"ListKeysOldestFirst", testListKeysOldestFirst},
	{"ConcurrentCreateKeysAllSucceed", testConcurrentCreateKeysAllSucceed},
	{"UpdateKeyRoundTripsAndIsReportedChanged", testUpdateKeyRoundTripsAndIsReportedChanged},
	{"UpdateKeyErrors", testUpdateKeyErrors},
	{"WriteBatchRoundTripsEveryGenerationField", testWriteBatchRoundTripsEveryGenerationField},
	{"WriteBatchStoresDefaults", testWriteBatchStoresDefaults},
	{"WriteBatchCleansTextTheDatabaseCannotHold", testWriteBatchCleansTextTheDatabaseCannotHold},
	{"TextTheDatabaseCannotHoldFindsNothing", testTextTheDatabaseCannotHoldFindsNothing},
	{"WriteBatchChargesBalances", testWriteBatchChargesBalances},
	{"LoadBalancesSkipsDeletedKeys", testLoadBalancesSkipsDeletedKeys},
	{"WriteBatchTwiceChangesNothing", testWriteBatchTwiceChangesNothing},
	{"WriteBatchIsAllOrNothing", testWriteBatchIsAllOrNothing},
	{"WriteBatchOfEmptyBatch", testWriteBatchOfEmptyBatch},
	{"UsageGroupsAndFilters", testUsageGroupsAndFilters},
	{"UsageCountsErrorsLatencyAndApps", testUsageCountsErrorsLatencyAndApps},
	{"UsageReportsEqualTheirGenerations", testUsageReportsEqualTheirGenerations},
	{"PruneGenerationsKeepsRollupsAndLedger", testPruneGenerationsKeepsRollupsAndLedger},
	{"WriteBatchOf5000", testWriteBatchOf5000},
	{"ConcurrentWriteBatchAndTopUpStayConsistent", testConcurrentWriteBatchAndTopUpStayConsistent},
	{"MetaUpsert", testMetaUpsert},
	{"StoredResponseRoundTripsForItsAccountOnly", testStoredResponseRoundTripsForItsAccountOnly},
	{"ExpiredResponsesAreNotFoundAndPruned", testExpiredResponsesAreNotFoundAndPruned},
	{"RateLimitsOfKeysAndAccountsAreStoredUpdatedAndCleared", testRateLimitsOfKeysAndAccountsAreStoredUpdatedAndCleared},
	{"LeakReportIsStoredAndKeptAcrossUpdates", testLeakReportIsStoredAndKeptAcrossUpdates},
	{"AuditEntriesAreListedNewestFirstWithFiltersAndCursor", testAuditEntriesAreListedNewestFirstWithFiltersAndCursor},
	{"CatalogEntriesCreateUpdateDelete", testCatalogEntriesCreateUpdateDelete},
	{"ResealKeysIsAllOrNothing", testResealKeysIsAllOrNothing},
	{"ListGenerationsNewestFirstInPages", testListGenerationsNewestFirstInPages},
	{"ListGenerationsFilters", testListGenerationsFilters},
	{"ListGenerationsOfAnAccountOnly", testListGenerationsOfAnAccountOnly},
	{"UsersCreateGetListUpdateDelete", testUsersCreateGetListUpdateDelete},
	{"SessionsStoreTouchRevokeAndPrune", testSessionsStoreTouchRevokeAndPrune},
	{"LedgerListsNewestFirstByCursor", testLedgerListsNewestFirstByCursor},
	{"RedeemBatchesAreListedAndVoided", testRedeemBatchesAreListedAndVoided},
	{"RedeemCreditsOnceUnderConcurrency", testRedeemCreditsOnceUnderConcurrency},
	{"RedeemRefusesExpiredVoidedUnknownAndUnmetered", testRedeemRefusesExpiredVoidedUnknownAndUnmetered},
	{"AuthCodeIsTakenOnceUntilItExpires", testAuthCodeIsTakenOnceUntilItExpires},
	{"ConcurrentTakesOfAnAuthCodeHaveOneWinner", testConcurrentTakesOfAnAuthCodeHaveOneWinner},
}

// Run runs every test of the suite against h's backend, in parallel, each
// on a database of its own.
func Run(t *testing.T, h Harness) {
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.f(t, &h)
		})
	}
}

// BenchmarkWriteBatch runs the ledger-writing benchmark against h's backend.
func BenchmarkWriteBatch(b *testing.B, h Harness) {
	benchWriteBatch(b, &h)
}

// hashOf returns the stored id of plaintext key.
func hashOf(plaintext string) string {
	sum := sha256.Sum256([]byte(plaintext))
	return hex.EncodeToString(sum[:])
}

// newKey returns a minimal valid key for plaintext.
func newKey(plaintext string) *store.Key {
	return &store.Key{Hash: hashOf(plaintext), Label: "sk-sy-…", Kind: store.KindAPI}
}

// at returns a UTC time n nanoseconds after a fixed instant.
func at(n int64) time.Time {
	return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(n))
}
