package store

import (
	"strings"
	"unicode/utf8"
)

// PostgreSQL's text cannot hold a NUL byte or bytes that are not UTF-8, and
// a request can carry both into a value the store keeps or looks up: a
// model name or an id written as "\u0000" in JSON, a raw 0xff in a body, a
// finish_reason from an upstream. Refused by the database, such a value
// would lose a ledger batch or answer a lookup with a 500. So the store
// writes and compares them in one cleaned form, on every backend: each NUL
// byte and each run of invalid bytes becomes U+FFFD. A lookup by a value
// that held them finds nothing, as it would have found nothing anyway.

// TextReplacement is what CleanText puts in place of a NUL byte or a run of
// invalid UTF-8.
const TextReplacement = "\uFFFD"

// CleanText returns s with each NUL byte and each run of invalid UTF-8
// replaced by U+FFFD; s itself, without a copy, when it has neither.
func CleanText(s string) string {
	if TextIsClean(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, TextReplacement), "\x00", TextReplacement)
}

// TextIsClean reports whether s has no NUL byte and is valid UTF-8.
func TextIsClean(s string) bool {
	return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s)
}

// CleanText cleans every text field of the batch in place (see CleanText):
// both backends call it first in WriteBatch, so a record whose model name
// or finish_reason held a NUL is written like any other, not refused with
// its whole batch.
func (b *Batch) CleanText() {
	for i := range b.Generations {
		g := &b.Generations[i]
		for _, f := range [...]*string{&g.ID, &g.RequestID, &g.KeyHash, &g.AccountID, &g.Model, &g.Provider,
			&g.UpstreamModel, &g.ErrorCode, &g.FinishReason, &g.Origin, &g.AppTitle, &g.Attempts} {
			*f = CleanText(*f)
		}
	}
	for i := range b.Charges {
		c := &b.Charges[i]
		for _, f := range [...]*string{&c.GenerationID, &c.AccountID, &c.KeyHash} {
			*f = CleanText(*f)
		}
	}
}
