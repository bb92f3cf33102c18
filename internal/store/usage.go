package store

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net/url"
	"slices"

	"github.com/switchyard-gw/switchyard/internal/money"
)

// App is the app a generation is counted under in usage reports: its
// X-Title, else the origin (scheme://host) of its HTTP-Referer, else the
// referer as recorded when it is not a URL; "" for neither.
func App(g *Generation) string {
	if g.AppTitle != "" {
		return g.AppTitle
	}
	if g.Origin == "" {
		return ""
	}
	u, err := url.Parse(g.Origin)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return g.Origin
	}
	return u.Scheme + "://" + u.Host
}

// IsError says whether a generation counts as an error in usage reports:
// an HTTP status of 400 or more, or an error code.
func IsError(g *Generation) bool {
	return g.Status >= 400 || g.ErrorCode != ""
}

// HistogramBuckets is the number of buckets of a Histogram.
//
// A Histogram counts durations in whole milliseconds in fixed log-scale
// buckets: 0–7 ms one bucket each, then eight buckets per power of two
// (for 2^e ≤ v < 2^(e+1): [2^e·(8+j)/8, 2^e·(9+j)/8), j = 0…7), up to
// 2^24 ms (4.6 h); longer durations go in the last bucket. Histograms of
// the same buckets merge by adding counts, so rollup rows can be summed in
// any order, and a quantile read from one is the middle of the bucket
// holding it: within 1/16 (6.25 %) of a duration recorded at that rank.
const HistogramBuckets = 8 + (24-3)*8

// Histogram is bucket counts (see HistogramBuckets); trailing zero buckets
// may be left off, and a nil Histogram is empty.
type Histogram []int64

// HistogramBucket is the bucket of a duration of ms milliseconds.
func HistogramBucket(ms int64) int {
	if ms < 8 {
		return int(max(ms, 0))
	}
	e := bits.Len64(uint64(ms)) - 1 // 2^e ≤ ms < 2^(e+1), e ≥ 3
	j := int(ms>>(e-3)) & 7
	return min(8+(e-3)*8+j, HistogramBuckets-1)
}

// bucketBounds is the range [lo, hi) of milliseconds of bucket i.
func bucketBounds(i int) (lo, hi int64) {
	if i < 8 {
		return int64(i), int64(i) + 1
	}
	e, j := (i-8)/8+3, int64((i-8)%8)
	return (8 + j) << (e - 3), (9 + j) << (e - 3)
}

// Add counts one duration of ms milliseconds.
func (h *Histogram) Add(ms int64) {
	i := HistogramBucket(ms)
	if len(*h) <= i {
		*h = append(*h, make([]int64, i+1-len(*h))...)
	}
	(*h)[i]++
}

// Merge adds the counts of o.
func (h *Histogram) Merge(o Histogram) {
	if len(*h) < len(o) {
		*h = append(*h, make([]int64, len(o)-len(*h))...)
	}
	for i, n := range o {
		(*h)[i] += n
	}
}

// Count is how many durations h holds.
func (h Histogram) Count() int64 {
	var n int64
	for _, c := range h {
		n += c
	}
	return n
}

// Quantile is the duration in milliseconds at quantile q (0 < q ≤ 1) by
// nearest rank, as the middle of its bucket; ok is false for an empty h.
func (h Histogram) Quantile(q float64) (ms int64, ok bool) {
	n := h.Count()
	if n == 0 {
		return 0, false
	}
	rank := int64(q * float64(n))
	if float64(rank) < q*float64(n) {
		rank++
	}
	rank = min(max(rank, 1), n)
	var seen int64
	for i, c := range h {
		seen += c
		if seen >= rank {
			lo, hi := bucketBounds(i)
			return lo + (hi-1-lo)/2, true
		}
	}
	return 0, false // not reached
}

// MarshalBinary encodes h compactly: each bucket's count as a uvarint,
// trailing zero buckets left off; nil for an empty h.
func (h Histogram) MarshalBinary() ([]byte, error) {
	end := len(h)
	for end > 0 && h[end-1] == 0 {
		end--
	}
	if end == 0 {
		return nil, nil
	}
	b := make([]byte, 0, end+4)
	for _, c := range h[:end] {
		if c < 0 {
			return nil, errors.New("histogram: negative count")
		}
		b = binary.AppendUvarint(b, uint64(c))
	}
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary encoded.
func (h *Histogram) UnmarshalBinary(b []byte) error {
	*h = (*h)[:0]
	for len(b) > 0 {
		c, n := binary.Uvarint(b)
		if n <= 0 || c > 1<<62 || len(*h) >= HistogramBuckets {
			return errors.New("histogram: malformed encoding")
		}
		*h = append(*h, int64(c))
		b = b[n:]
	}
	return nil
}

// AppendCompact appends h to b in the compact encoding PostgreSQL's
// usage_rollups store (migration 0015), as uvarints: the number of leading
// zero buckets, the number of buckets from the first nonzero one to the
// last, then their counts. An empty h appends nothing (stored as NULL). A
// typical rollup's latency histogram takes 20–40 bytes instead of 64
// int64s, and encodings are self-delimiting: a concatenation of them
// (string_agg in SQL) is their sum.
func (h Histogram) AppendCompact(b []byte) []byte {
	lo, hi := 0, len(h)
	for hi > 0 && h[hi-1] == 0 {
		hi--
	}
	for lo < hi && h[lo] == 0 {
		lo++
	}
	if lo == hi {
		return b
	}
	b = binary.AppendUvarint(b, uint64(lo))
	b = binary.AppendUvarint(b, uint64(hi-lo))
	for _, c := range h[lo:hi] {
		b = binary.AppendUvarint(b, uint64(max(c, 0)))
	}
	return b
}

// MergeCompact adds the histograms that AppendCompact encoded,
// concatenated in b (empty for none), to h, without decoding them into
// Histograms of their own.
func (h *Histogram) MergeCompact(b []byte) error {
	bad := errors.New("histogram: malformed compact encoding")
	next := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	for len(b) > 0 {
		lo, ok := next()
		if !ok || lo >= HistogramBuckets {
			return bad
		}
		n, ok := next()
		if !ok || n > HistogramBuckets-lo {
			return bad
		}
		if hi := int(lo + n); len(*h) < hi {
			*h = append(*h, make([]int64, hi-len(*h))...)
		}
		for i := int(lo); i < int(lo+n); i++ {
			c, ok := next()
			if !ok || c > 1<<62 {
				return bad
			}
			(*h)[i] += int64(c)
		}
	}
	return nil
}

// usageSplits are the dimensions UsageQuery.Split may name, with their
// usage_rollups columns.
var usageSplits = map[string]string{
	"model":    "model",
	"key":      "key_hash",
	"provider": "provider",
	"app":      "app",
}

// SplitColumn returns the usage_rollups column q splits its groups by,
// or "" for none.
func (q *UsageQuery) SplitColumn() (string, error) {
	if q.Split == "" {
		return "", nil
	}
	col, ok := usageSplits[q.Split]
	if !ok {
		return "", fmt.Errorf("unknown split %q (want model, key, provider or app)", q.Split)
	}
	if g, _ := q.GroupColumn(); g == col {
		return "", fmt.Errorf("split %q is the same as group_by", q.Split)
	}
	return col, nil
}

// RollupRow is one usage_rollups row as a backend reads it for a usage
// report: its group and split values and its sums.
type RollupRow struct {
	Group, Split                                   string
	Requests, TokensPrompt, TokensCompletion, Errs int64
	Cost                                           money.Nanos
	Latency, TTFT                                  Histogram
}

// UsageSummer sums rollup rows into a usage report's rows.
type UsageSummer struct {
	rows  []UsageRow
	index map[[2]string]int
}

// row is the report row of group and split, added if new.
func (s *UsageSummer) row(group, split string) *UsageRow {
	k := [2]string{group, split}
	i, ok := s.index[k]
	if !ok {
		if s.index == nil {
			s.index = map[[2]string]int{}
		}
		i = len(s.rows)
		s.index[k] = i
		s.rows = append(s.rows, UsageRow{Group: group, Split: split})
	}
	return &s.rows[i]
}

// Add adds one rollup row.
func (s *UsageSummer) Add(r *RollupRow) {
	u := s.row(r.Group, r.Split)
	u.Requests += r.Requests
	u.TokensPrompt += r.TokensPrompt
	u.TokensCompletion += r.TokensCompletion
	u.Errors += r.Errs
	u.Cost = money.Add(u.Cost, r.Cost)
	u.Latency.Merge(r.Latency)
	u.TTFT.Merge(r.TTFT)
}

// Rows returns the report's rows ordered by group, then split.
func (s *UsageSummer) Rows() []UsageRow {
	slices.SortFunc(s.rows, func(a, b UsageRow) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Split, b.Split))
	})
	return s.rows
}
