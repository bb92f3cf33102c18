package billing

import (
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// BenchmarkReserveSettle is the billing step of one request: everything the
// request path does for credit, in memory, with no database call.
func BenchmarkReserveSettle(b *testing.B) {
	limit := nanos("1000000")
	a := NewAccountant(time.Now, []store.AccountBalance{{ID: "acct", Credits: ptr(nanos("1000000"))}}, nil)
	k := &store.Key{Hash: "k", AccountID: "acct", Limit: &limit, LimitReset: "daily"}
	e := est(nanos("0.01"))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, err := a.Reserve(k, e)
			if err != nil {
				b.Fatal(err)
			}
			r.Settle(nanos("0.000001"), "gen")
		}
	})
}
