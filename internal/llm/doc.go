// Package llm is the gateway's own vocabulary: the closed set of client-facing
// errors now, and the canonical request, response and stream types that
// translation between provider dialects goes through. It imports only the
// standard library and nothing of net/http beyond status constants.
package llm
