// Package money holds exact amounts of US dollars as integer nano-dollars.
//
// Floats never touch money: a 5-token request to a $0.15/M model costs
// $0.00000075, which is 750 nano-dollars and must not round to zero.
package money

import (
	"errors"
	"strconv"
	"strings"
)

// Nanos is an amount in nano-USD (1e-9 USD).
type Nanos int64

// PerDollar is the number of Nanos in one US dollar.
const PerDollar Nanos = 1_000_000_000

var errSyntax = errors.New("not a decimal amount of dollars (at most 9 decimal places)")

// ParseUSD parses a decimal string such as "2.50", "-0.000001" or "1e-6"-free
// plain decimals exactly into Nanos.
func ParseUSD(s string) (Nanos, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errSyntax
	}
	neg := false
	switch s[0] {
	case '-':
		neg = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" && (!hasDot || frac == "") {
		return 0, errSyntax
	}
	if len(frac) > 9 {
		// Digits past the ninth must be zeros, or the amount is not representable.
		if strings.Trim(frac[9:], "0") != "" {
			return 0, errSyntax
		}
		frac = frac[:9]
	}
	var w, f int64
	var err error
	if whole != "" {
		if !allDigits(whole) {
			return 0, errSyntax
		}
		if w, err = strconv.ParseInt(whole, 10, 64); err != nil || w > 9_000_000_000 {
			return 0, errors.New("amount too large")
		}
	}
	if frac != "" {
		if !allDigits(frac) {
			return 0, errSyntax
		}
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	}
	n := Nanos(w)*PerDollar + Nanos(f)
	if neg {
		n = -n
	}
	return n, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String formats n as a plain decimal number of dollars with no trailing zeros
// ("2.5", "0.00000075", "0").
func (n Nanos) String() string {
	return string(n.AppendJSON(nil))
}

// AppendJSON appends n as a JSON number of dollars.
func (n Nanos) AppendJSON(b []byte) []byte {
	u := int64(n)
	if u < 0 {
		b = append(b, '-')
		u = -u
	}
	b = strconv.AppendInt(b, u/int64(PerDollar), 10)
	frac := u % int64(PerDollar)
	if frac == 0 {
		return b
	}
	var digits [9]byte
	for i := 8; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	end := 9
	for end > 0 && digits[end-1] == '0' {
		end--
	}
	b = append(b, '.')
	return append(b, digits[:end]...)
}

// MarshalJSON renders n as a JSON number of dollars.
func (n Nanos) MarshalJSON() ([]byte, error) { return n.AppendJSON(nil), nil }

// UnmarshalJSON reads a JSON number (or numeric string) of dollars exactly.
func (n *Nanos) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := ParseUSD(s)
	if err != nil {
		return err
	}
	*n = v
	return nil
}

// UnmarshalText lets config files (YAML) write prices as plain numbers.
func (n *Nanos) UnmarshalText(b []byte) error {
	v, err := ParseUSD(string(b))
	if err != nil {
		return err
	}
	*n = v
	return nil
}

// CostOf returns the price of tokens at perMillion (nano-USD per 1M tokens),
// rounded half up to a whole nano-dollar.
func CostOf(tokens int64, perMillion Nanos) Nanos {
	if tokens <= 0 || perMillion <= 0 {
		return 0
	}
	return Nanos((tokens*int64(perMillion) + 500_000) / 1_000_000)
}
