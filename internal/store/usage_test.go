package store

import (
	"encoding/binary"
	"slices"
	"testing"
)

func TestHistogramQuantileIsWithinASixteenthOfTheRecordedValue(t *testing.T) {
	for ms := int64(0); ms < 1<<24; ms = ms*17/16 + 1 {
		var h Histogram
		h.Add(ms)
		got, ok := h.Quantile(0.5)
		if !ok {
			t.Fatalf("%d ms: no quantile", ms)
		}
		if d := got - ms; d*16 > ms || -d*16 > ms {
			t.Fatalf("%d ms reads back as %d ms, more than 1/16 off", ms, got)
		}
	}
	var h Histogram
	h.Add(1 << 40) // beyond the last bucket: counted there
	if len(h) != HistogramBuckets {
		t.Fatalf("a huge duration went to bucket %d of %d", len(h)-1, HistogramBuckets)
	}
}

func TestHistogramMergesAndRoundTrips(t *testing.T) {
	var a, b Histogram
	for _, ms := range []int64{1, 50, 50, 900} {
		a.Add(ms)
	}
	for _, ms := range []int64{3, 70000} {
		b.Add(ms)
	}
	a.Merge(b)
	if a.Count() != 6 {
		t.Fatalf("merged count %d, want 6", a.Count())
	}
	if p50, _ := a.Quantile(0.5); p50 != 49 { // 50 is in [48, 52): midpoint 49
		t.Errorf("p50 = %d, want 49", p50)
	}
	enc, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back Histogram
	if err := back.UnmarshalBinary(enc); err != nil {
		t.Fatal(err)
	}
	if len(back) != len(a) || back.Count() != a.Count() {
		t.Fatalf("round trip: %v, want %v", back, a)
	}
	if err := back.UnmarshalBinary([]byte{0xff}); err == nil {
		t.Error("a truncated varint decoded")
	}
	if enc, _ := (Histogram{0, 0}).MarshalBinary(); enc != nil {
		t.Errorf("an empty histogram encodes as %v, want nil", enc)
	}
}

func TestAppIsTheTitleElseTheReferersOrigin(t *testing.T) {
	for _, tt := range []struct{ title, referer, want string }{
		{"My App", "https://a.example/x", "My App"},
		{"", "https://a.example:8443/path?q=1", "https://a.example:8443"},
		{"", "not a url", "not a url"},
		{"", "", ""},
	} {
		if got := App(&Generation{AppTitle: tt.title, Origin: tt.referer}); got != tt.want {
			t.Errorf("App(%q, %q) = %q, want %q", tt.title, tt.referer, got, tt.want)
		}
	}
}

func TestHistogramCompactEncodingMergesWithoutLeadingZeros(t *testing.T) {
	var a Histogram
	for _, ms := range []int64{300, 300, 900, 5000} {
		a.Add(ms)
	}
	for range 200 { // a count of two uvarint bytes
		a.Add(400)
	}
	enc := a.AppendCompact(nil)
	first := HistogramBucket(300)
	if enc[0] != byte(first) {
		t.Fatalf("leading zeros encoded as %d, want %d", enc[0], first)
	}
	if want := 2 + (HistogramBucket(5000) - first + 1) + 1; len(enc) != want {
		t.Errorf("encoded in %d bytes, want %d (one per bucket from the first nonzero, two for 200)", len(enc), want)
	}
	var sum Histogram
	sum.Add(1)
	if err := sum.MergeCompact(enc); err != nil {
		t.Fatal(err)
	}
	// A concatenation, as string_agg makes it, is the sum.
	var b Histogram
	b.Add(2)
	if err := sum.MergeCompact(append(b.AppendCompact(nil), enc...)); err != nil {
		t.Fatal(err)
	}
	want := Histogram{}
	want.Add(1)
	want.Add(2)
	want.Merge(a)
	want.Merge(a)
	if !slices.Equal(sum, want) {
		t.Fatalf("merged %v, want %v", sum, want)
	}
	if enc := (Histogram{0, 0}).AppendCompact(nil); enc != nil {
		t.Errorf("an empty histogram encodes as %v, want nil", enc)
	}
	if err := sum.MergeCompact(nil); err != nil || sum.Count() != want.Count() {
		t.Errorf("merging nothing: %v, count %d", err, sum.Count())
	}
	last := binary.AppendUvarint(nil, HistogramBuckets-1)
	beyond := binary.AppendUvarint(nil, HistogramBuckets)
	for _, bad := range [][]byte{{0xff}, beyond, append(last, 2, 1, 1), {0, 1, 0xff}, {0, 2, 1}} {
		var h Histogram
		if err := h.MergeCompact(bad); err == nil {
			t.Errorf("%v merged: %v", bad, h)
		}
	}
}
