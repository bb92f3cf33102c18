package loadbench

import (
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"
)

// Row is one line of the printed table: a metric and its value for each
// target (direct, proxy, gateway), already formatted, and gateway/proxy.
type Row struct {
	Metric string
	Cells  [3]string
	Ratio  string
}

// tableHeader names the columns of FormatTable.
var tableHeader = Row{Metric: "metric", Cells: [3]string{"direct", "proxy", "gateway"}, Ratio: "gateway/proxy"}

// FormatTable writes rows as a Markdown table, the metric column aligned
// left and the figures right, so that it reads in a terminal and pastes
// into docs/benchmarks.md unchanged.
func FormatTable(w io.Writer, rows []Row) error {
	all := append([]Row{tableHeader}, rows...)
	var width [5]int
	for _, r := range all {
		for i, c := range r.columns() {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	line := func(r Row) {
		for i, c := range r.columns() {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i == 0 {
				b.WriteString("| " + c + pad + " ")
			} else {
				b.WriteString("| " + pad + c + " ")
			}
		}
		b.WriteString("|\n")
	}
	line(all[0])
	for i, n := range width {
		if i == 0 {
			b.WriteString("| " + strings.Repeat("-", n) + " ")
		} else {
			b.WriteString("| " + strings.Repeat("-", n-1) + ": ")
		}
	}
	b.WriteString("|\n")
	for _, r := range all[1:] {
		line(r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (r Row) columns() [5]string {
	return [5]string{r.Metric, r.Cells[0], r.Cells[1], r.Cells[2], r.Ratio}
}

// numRow builds a row of three figures printed with format (a fmt verb such
// as "%.0f"); a NaN figure prints as "—". The ratio is gateway/proxy when
// withRatio is set and both are finite and the proxy's is not zero.
func numRow(metric, format string, v [3]float64, withRatio bool) Row {
	r := Row{Metric: metric}
	for i, x := range v {
		r.Cells[i] = formatNum(format, x)
	}
	if withRatio {
		r.Ratio = Ratio(v[2], v[1])
	}
	return r
}

func formatNum(format string, x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "—"
	}
	return fmt.Sprintf(format, x)
}

// Ratio formats a/b as "1.23×", or "—" when it is undefined or means
// nothing: a negative figure (an added latency below direct's, noise).
func Ratio(a, b float64) string {
	if b <= 0 || a < 0 || math.IsNaN(a) || math.IsNaN(b) || math.IsInf(a, 0) || math.IsInf(b, 0) {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}
