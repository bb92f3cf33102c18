package loadbench

import (
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 1000; i++ {
		s = append(s, time.Duration(i)*time.Microsecond)
	}
	for _, tt := range []struct {
		p    float64
		want time.Duration
	}{
		{50, 500 * time.Microsecond},
		{99, 990 * time.Microsecond},
		{99.9, 999 * time.Microsecond},
		{100, 1000 * time.Microsecond},
		{0.01, time.Microsecond},
	} {
		if got := Percentile(s, tt.p); got != tt.want {
			t.Errorf("Percentile(1..1000µs, %v) = %v, want %v", tt.p, got, tt.want)
		}
	}
	if got := Percentile(nil, 50); got != 0 {
		t.Errorf("Percentile(nil) = %v, want 0", got)
	}
	if got := Percentile([]time.Duration{7}, 99.9); got != 7 {
		t.Errorf("Percentile of one sample = %v, want it", got)
	}
	// Few samples: p99.9 of 10 is the largest, p50 the 5th.
	ten := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if Percentile(ten, 99.9) != 10 || Percentile(ten, 50) != 5 {
		t.Errorf("p99.9, p50 of 1..10 = %v, %v; want 10, 5", Percentile(ten, 99.9), Percentile(ten, 50))
	}
}

func TestSummarizeSorts(t *testing.T) {
	s := Summarize([]time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond})
	if s.N != 3 || s.P50US != 2000 || s.MaxUS != 3000 || s.MeanUS != 2000 || s.P999US != 3000 {
		t.Errorf("Summarize = %+v", s)
	}
	if (Summarize(nil) != Summary{}) {
		t.Error("Summarize(nil) is not zero")
	}
}
