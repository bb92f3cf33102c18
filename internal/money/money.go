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

var (
	errSyntax    = errors.New("not a decimal amount of dollars (write it as 2.50, 0.000001 or 1e-6)")
	errPrecision = errors.New("finer than one nano-dollar: an amount has at most 9 decimal places")
	errRange     = errors.New("amount too large (at most 9000000000 dollars)")
)

// maxUSD bounds every parsed amount: $9e9 in nano-dollars, which leaves
// headroom below int64's 9.22e18 for sums of a few amounts.
const maxUSD = 9_000_000_000 * PerDollar

// ParseUSD parses a number of dollars exactly into Nanos. It takes every
// form of a JSON number ("2.50", "-0.5e-3", "1E2", "1e-06", as Python's json
// writes small floats) and also a leading '+', a bare ".5" or "5.", and outer
// spaces. No float is involved: the digits are shifted by the exponent, so
// "0.1" is exactly 100000000 nanos. An amount with non-zero digits below one
// nano-dollar, or above maxUSD, is an error.
func ParseUSD(s string) (Nanos, error) {
	s = strings.TrimSpace(s)
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	mant, exp, hasExp := strings.Cut(s, "e")
	if !hasExp {
		mant, exp, hasExp = strings.Cut(s, "E")
	}
	whole, frac, _ := strings.Cut(mant, ".")
	if whole == "" && frac == "" || !allDigits(whole) || !allDigits(frac) {
		return 0, errSyntax
	}
	// The amount is digits × 10^(e−len(frac)) dollars, so digits ×
	// 10^shift nanos.
	e, ok := parseExponent(exp, hasExp)
	if !ok {
		return 0, errSyntax
	}
	digits := strings.TrimLeft(whole+frac, "0")
	shift := e - int64(len(frac)) + 9
	// Trailing zeros below a nano-dollar cost nothing ("0.0000000010").
	for shift < 0 && digits != "" && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		shift++
	}
	if digits == "" {
		return 0, nil // zero, whatever its exponent ("0e999999999", "-0.0")
	}
	if shift < 0 {
		return 0, errPrecision
	}
	// maxUSD has 19 digits: more digits cannot be in range, and 19 digits
	// fit in a uint64 without overflow.
	if int64(len(digits))+shift > 19 {
		return 0, errRange
	}
	var u uint64
	for i := 0; i < len(digits); i++ {
		u = u*10 + uint64(digits[i]-'0')
	}
	for ; shift > 0; shift-- {
		u *= 10
	}
	if u > uint64(maxUSD) {
		return 0, errRange
	}
	n := Nanos(u)
	if neg {
		n = -n
	}
	return n, nil
}

// parseExponent reads the part after 'e': an optional sign and at least one
// digit. Its magnitude saturates at 2^40, far past the length of any
// input, so that any non-zero amount with a saturated exponent is still out
// of range (or below a nano-dollar), and "1e999999999999999999999" costs no
// more than "1e9" to reject: nothing is shifted, looped or allocated per
// unit of exponent.
func parseExponent(exp string, present bool) (int64, bool) {
	if !present {
		return 0, true
	}
	neg := false
	if exp != "" && (exp[0] == '-' || exp[0] == '+') {
		neg = exp[0] == '-'
		exp = exp[1:]
	}
	if exp == "" || !allDigits(exp) {
		return 0, false
	}
	const limit = 1 << 40
	var e int64
	for i := 0; i < len(exp) && e < limit; i++ {
		e = e*10 + int64(exp[i]-'0')
	}
	e = min(e, limit)
	if neg {
		e = -e
	}
	return e, true
}

// allDigits reports whether s holds only ASCII digits ("" does).
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
