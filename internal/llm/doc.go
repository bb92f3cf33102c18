// Package llm is the gateway's own vocabulary: the closed set of client-facing
// errors now, and the canonical request, response and stream types that
// translation between provider dialects goes through. It imports only the
// standard library, and not net/http (codecs built on it stay transport-free).
package llm
