package llm_test

import (
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// TestClassifyDecidesRetryFailoverMetricAndLedgerCodeInOnePlace walks
// every shape of failure an attempt or a request ends with through the one
// classification: what the client sees (status), whether the client may
// retry, whether the relay moves on to the next route, the metric label
// and the ledger code.
func TestClassifyDecidesRetryFailoverMetricAndLedgerCodeInOnePlace(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	provider := func(status int, typ, code string) *llm.Error {
		return &llm.Error{Kind: llm.KindProvider, Status: status, Type: typ, Code: code, Message: "upstream says no"}
	}
	tests := []struct {
		name       string
		err        error
		upstream   int // the upstream's HTTP status; 0: none
		wantStatus int
		retryable  bool
		failover   bool
		credential bool
		metric     string
		code       string
	}{
		{name: "connection refused", err: llm.UpstreamError("could not reach provider 'p'", dial),
			wantStatus: 502, retryable: true, failover: true, metric: llm.FailConnect, code: "upstream_error"},
		{name: "a clock of the attempt fired", err: llm.UpstreamTimeout("provider 'p' did not answer in time", dial),
			wantStatus: 504, retryable: true, failover: true, metric: llm.FailTimeout, code: "upstream_timeout"},
		{name: "upstream 504", err: llm.UpstreamTimeout("provider 'p' timed out", nil), upstream: 504,
			wantStatus: 504, retryable: true, failover: true, metric: llm.FailTimeout, code: "upstream_timeout"},
		{name: "upstream 429", err: provider(429, "rate_limit_error", "rate_limit_exceeded"), upstream: 429,
			wantStatus: 429, retryable: true, failover: true, metric: llm.FailRateLimited, code: "rate_limit_exceeded"},
		{name: "upstream 500", err: llm.UpstreamError("provider 'p' failed (HTTP 500)", nil), upstream: 500,
			wantStatus: 502, retryable: true, failover: true, metric: llm.FailServerError, code: "upstream_error"},
		{name: "upstream overloaded 503, code outside the vocabulary", err: provider(503, "upstream_error", "overloaded"), upstream: 529,
			wantStatus: 503, retryable: true, failover: true, metric: llm.FailServerError, code: "upstream_error"},
		{name: "upstream refused the gateway's credential", err: llm.UpstreamError("provider 'p' rejected the gateway's credentials", fmt.Errorf("%w: bad key", llm.ErrCredential)), upstream: 401,
			wantStatus: 502, retryable: true, failover: true, credential: true, metric: llm.FailAuth, code: "upstream_error"},
		{name: "upstream 400 about the request", err: provider(400, "invalid_request_error", "context_length_exceeded"), upstream: 400,
			wantStatus: 400, metric: llm.FailClientError, code: "context_length_exceeded"},
		{name: "upstream 400, unknown code, known type", err: provider(400, "invalid_request_error", "made_up_code"), upstream: 400,
			wantStatus: 400, metric: llm.FailClientError, code: "invalid_request_error"},
		{name: "upstream 403, strings outside the vocabulary", err: provider(403, "request_forbidden", "unsupported_country_region_territory"), upstream: 403,
			wantStatus: 403, metric: llm.FailClientError, code: "upstream_error"},
		{name: "a 2xx that could not be relayed", err: llm.UpstreamError("provider 'p' returned a malformed response", nil), upstream: 200,
			wantStatus: 502, retryable: true, failover: true, metric: llm.FailBadResponse, code: "upstream_error"},
		{name: "the client's bad request", err: llm.BadRequest("model", "no"),
			wantStatus: 400, metric: llm.FailOther, code: "invalid_request_error"},
		{name: "the key's own rate limit", err: llm.RateLimited("slow down", "3"),
			wantStatus: 429, retryable: true, metric: llm.FailOther, code: "rate_limit_exceeded"},
		{name: "no quota", err: llm.InsufficientQuota("no credit"),
			wantStatus: 402, metric: llm.FailOther, code: "insufficient_quota"},
		{name: "ledger unavailable", err: llm.LedgerUnavailable("later"),
			wantStatus: 503, retryable: true, metric: llm.FailOther, code: "ledger_unavailable"},
		{name: "every route cooling, wrapped", err: fmt.Errorf("serving: %w", llm.NoAvailableProvider("none")),
			wantStatus: 503, retryable: true, failover: true, metric: llm.FailConnect, code: "no_available_provider"},
		{name: "a plain error is the gateway's 500", err: errors.New("boom"),
			wantStatus: 500, retryable: true, metric: llm.FailOther, code: "internal_error"},
		{name: "an error with neither code nor type", err: &llm.Error{Kind: llm.KindProvider, Status: 400}, upstream: 400,
			wantStatus: 400, metric: llm.FailClientError, code: "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := llm.Classify(tt.err, tt.upstream)
			if c.Err == nil || c.Err.Status != tt.wantStatus {
				t.Fatalf("client sees %+v, want status %d", c.Err, tt.wantStatus)
			}
			got := [...]any{c.Retryable, c.Failover, c.Credential, c.Metric, c.Code}
			want := [...]any{tt.retryable, tt.failover, tt.credential, tt.metric, tt.code}
			if got != want {
				t.Errorf("retryable, failover, credential, metric, code = %v, want %v", got, want)
			}
			if c.Retryable != c.Err.Retryable() {
				t.Errorf("Class.Retryable %v disagrees with Error.Retryable %v", c.Retryable, c.Err.Retryable())
			}
		})
	}
}

func TestClassifyOfNoErrorIsSuccess(t *testing.T) {
	if c := llm.Classify(nil, 200); c != (llm.Class{}) {
		t.Fatalf("Classify(nil) = %+v, want the zero Class", c)
	}
}
