// Package money holds exact amounts of US dollars as integer nano-dollars.
//
// Floats never touch money: a 5-token request to a $0.15/M model costs
// $0.00000075, which is 750 nano-dollars and must not round to zero.
package money

import (
	"errors"
	"math"
	"math/bits"
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
// rounded half up to a whole nano-dollar, saturating at MaxNanos: no token
// count an upstream or a client sends can wrap it negative.
func CostOf(tokens int64, perMillion Nanos) Nanos {
	var s Sum
	s.Add(tokens, perMillion)
	return s.Nanos()
}

// MaxNanos is the largest amount; sums saturate there instead of wrapping.
const MaxNanos = Nanos(math.MaxInt64)

// Sum adds up token × price-per-million products exactly, in 128 bits, so
// that a total is rounded once (Nanos) and no product can overflow.
// Negative tokens or prices add nothing.
type Sum struct{ hi, lo uint64 }

// Add adds tokens × perMillion.
func (s *Sum) Add(tokens int64, perMillion Nanos) {
	if tokens <= 0 || perMillion <= 0 {
		return
	}
	hi, lo := bits.Mul64(uint64(tokens), uint64(perMillion))
	var carry uint64
	s.lo, carry = bits.Add64(s.lo, lo, 0)
	s.hi, carry = bits.Add64(s.hi, hi, carry)
	if carry != 0 {
		s.hi, s.lo = math.MaxUint64, math.MaxUint64
	}
}

// Nanos is the sum divided by one million, rounded half up, saturating at
// MaxNanos.
func (s Sum) Nanos() Nanos {
	lo, carry := bits.Add64(s.lo, 500_000, 0)
	hi := s.hi + carry
	if hi < s.hi || hi >= 1_000_000 { // the quotient would not fit in 64 bits
		return MaxNanos
	}
	q, _ := bits.Div64(hi, lo, 1_000_000)
	if q > math.MaxInt64 {
		return MaxNanos
	}
	return Nanos(q)
}

// Add returns a + b, saturating at MaxNanos and at -MaxNanos.
func Add(a, b Nanos) Nanos {
	s := a + b
	switch {
	case a > 0 && b > 0 && s < 0:
		return MaxNanos
	case a < 0 && b < 0 && s >= 0:
		return -MaxNanos
	}
	return s
}

// Sub returns a - b, saturating like Add.
func Sub(a, b Nanos) Nanos {
	if b == math.MinInt64 {
		return Add(Add(a, MaxNanos), 1)
	}
	return Add(a, -b)
}

// TokensFor is how many whole tokens amount buys at perMillion, saturating;
// 0 when either is not positive.
func TokensFor(amount, perMillion Nanos) int64 {
	if amount <= 0 || perMillion <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(amount), 1_000_000)
	if hi >= uint64(perMillion) {
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, uint64(perMillion))
	return int64(min(q, math.MaxInt64))
}
