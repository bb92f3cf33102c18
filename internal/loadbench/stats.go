package loadbench

import (
	"math"
	"slices"
	"time"
)

// Summary is the distribution of one set of latencies, in microseconds so
// that the JSON reads without unit conversion.
type Summary struct {
	N      int     `json:"n"`
	MeanUS float64 `json:"mean_us"`
	P50US  float64 `json:"p50_us"`
	P99US  float64 `json:"p99_us"`
	P999US float64 `json:"p999_us"`
	MaxUS  float64 `json:"max_us"`
}

// Percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest sample with at least p% of the samples
// at or below it. It returns 0 for no samples.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// The epsilon keeps 99.9% of 1000 at rank 999: in floating point
	// it is 999.0000000000001, whose ceiling would be 1000.
	rank := int(math.Ceil(p/100*float64(n) - 1e-9))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// Summarize sorts samples in place and returns their summary.
func Summarize(samples []time.Duration) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	slices.Sort(samples)
	var sum time.Duration
	for _, d := range samples {
		sum += d
	}
	return Summary{
		N:      len(samples),
		MeanUS: us(sum / time.Duration(len(samples))),
		P50US:  us(Percentile(samples, 50)),
		P99US:  us(Percentile(samples, 99)),
		P999US: us(Percentile(samples, 99.9)),
		MaxUS:  us(samples[len(samples)-1]),
	}
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
