package store

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Validate checks what a backend's schema cannot, or cannot say clearly,
// before a key is created.
func (k *Key) Validate() error {
	if !IsKeyHash(k.Hash) {
		// Also keeps a plaintext key passed by mistake out of the database.
		return errors.New("hash is not a lowercase hex SHA-256")
	}
	switch k.Kind {
	case KindAPI, KindManagement, KindAdmin:
	default:
		return fmt.Errorf("unknown key kind %q", k.Kind)
	}
	if err := k.RateLimits.Validate(); err != nil {
		return err
	}
	return ValidateLimitReset(k.LimitReset)
}

// Validate rejects negative limits, which the API refuses too.
func (r *RateLimits) Validate() error {
	if r != nil && (r.RPM < 0 || r.TPM < 0 || r.Concurrency < 0) {
		return fmt.Errorf("negative rate limit %+v", *r)
	}
	return nil
}

// Columns is the stored form of optional rate limits: 0 is none.
func (r *RateLimits) Columns() (rpm, tpm, concurrency int64) {
	if r == nil {
		return 0, 0, 0
	}
	return r.RPM, r.TPM, r.Concurrency
}

// ValidateLimitReset checks a Key.LimitReset.
func ValidateLimitReset(reset string) error {
	switch reset {
	case "", "daily", "weekly", "monthly":
		return nil
	}
	return fmt.Errorf("unknown limit reset %q", reset)
}

// IsKeyHash reports whether s is a key's id: a lowercase hex SHA-256.
func IsKeyHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Validate checks an account before it is created or updated.
func (a *Account) Validate() error {
	if a.ID == "" {
		return errors.New("empty account id")
	}
	if a.Credits != nil && *a.Credits < 0 {
		return fmt.Errorf("account %s: negative credits $%s", a.ID, *a.Credits)
	}
	return a.RateLimits.Validate()
}

// Both backends store every time as an integer of unix nanoseconds, UTC:
// comparisons such as KeysChangedSince's stay exact to the nanosecond.

// MinTime and MaxTime bound the times an int64 of unix nanoseconds holds.
var (
	MinTime = time.Unix(0, math.MinInt64)
	MaxTime = time.Unix(0, math.MaxInt64)
)

// UnixNanos converts t to its stored form; times outside years 1678 to 2262
// are an error.
func UnixNanos(t time.Time) (int64, error) {
	if t.Before(MinTime) || t.After(MaxTime) {
		return 0, fmt.Errorf("time %s is outside the storable range (years 1678 to 2262)", t.UTC().Format(time.RFC3339))
	}
	return t.UnixNano(), nil
}

// FromUnixNanos converts a stored time back, in UTC.
func FromUnixNanos(n int64) time.Time {
	return time.Unix(0, n).UTC()
}

// UnixDay is the UTC day (days since 1970-01-01) of a stored time, the day
// of the usage rollups.
func UnixDay(ns int64) int64 {
	const nsPerDay = int64(24 * time.Hour)
	d := ns / nsPerDay
	if ns%nsPerDay < 0 {
		d-- // round towards minus infinity for times before 1970
	}
	return d
}

// DayString formats a UnixDay as YYYY-MM-DD, a UsageRow's Group.
func DayString(day int64) string {
	return time.Unix(day*int64(24*time.Hour/time.Second), 0).UTC().Format(time.DateOnly)
}

// OrNow returns t, or now if t is zero.
func OrNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}

// usageGroups maps UsageQuery.GroupBy to the usage_rollups column (the same
// in every backend's schema) that it groups by.
var usageGroups = map[string]string{
	"day":      "day",
	"model":    "model",
	"key":      "key_hash",
	"provider": "provider",
	"app":      "app",
}

// GroupColumn returns the usage_rollups column q groups by; GroupBy ""
// means "day".
func (q *UsageQuery) GroupColumn() (string, error) {
	groupBy := q.GroupBy
	if groupBy == "" {
		groupBy = "day"
	}
	col, ok := usageGroups[groupBy]
	if !ok {
		return "", fmt.Errorf("unknown group_by %q (want day, model, key, provider or app)", q.GroupBy)
	}
	return col, nil
}

// Days returns the UTC days (UnixDay) q selects: from from's through the
// one before to's. A nil bound is unbounded (a zero From or To).
func (q *UsageQuery) Days() (from, to *int64, err error) {
	if !q.From.IsZero() {
		n, err := UnixNanos(q.From)
		if err != nil {
			return nil, nil, fmt.Errorf("from: %w", err)
		}
		d := UnixDay(n)
		from = &d
	}
	if !q.To.IsZero() {
		n, err := UnixNanos(q.To)
		if err != nil {
			return nil, nil, fmt.Errorf("to: %w", err)
		}
		d := UnixDay(n)
		to = &d
	}
	return from, to, nil
}
