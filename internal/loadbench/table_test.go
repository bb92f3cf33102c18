package loadbench

import (
	"math"
	"strings"
	"testing"
)

func TestFormatTable(t *testing.T) {
	rows := []Row{
		numRow("chat c=50 (req/s)", "%.0f", [3]float64{20000, 9000, 4500}, true),
		numRow("added latency p50 (µs)", "%.1f", [3]float64{math.NaN(), 21.25, 110}, true),
		{Metric: "truncated streams", Cells: [3]string{"0", "0", "0"}},
	}
	var b strings.Builder
	if err := FormatTable(&b, rows); err != nil {
		t.Fatal(err)
	}
	want := `| metric                 | direct | proxy | gateway | gateway/proxy |
| ---------------------- | -----: | ----: | ------: | ------------: |
| chat c=50 (req/s)      |  20000 |  9000 |    4500 |         0.50× |
| added latency p50 (µs) |      — |  21.2 |   110.0 |         5.18× |
| truncated streams      |      0 |     0 |       0 |               |
`
	if b.String() != want {
		t.Errorf("FormatTable:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestRatio(t *testing.T) {
	for _, tt := range []struct {
		a, b float64
		want string
	}{{3, 2, "1.50×"}, {1, 0, "—"}, {math.NaN(), 1, "—"}, {0, 4, "0.00×"}, {31, -5, "—"}, {-5, 31, "—"}} {
		if got := Ratio(tt.a, tt.b); got != tt.want {
			t.Errorf("Ratio(%v, %v) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}
