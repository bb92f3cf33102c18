// Package ratelimittest helps tests reach the test Redis.
package ratelimittest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/ratelimit"
	"github.com/switchyard-gw/switchyard/internal/testenv"
)

// Redis connects to the Redis that SWITCHYARD_TEST_REDIS names, under
// a key prefix unique to the test, for tests of this and other packages.
// It skips the test when the variable is unset or the server does not
// answer, except under CI=true, where that fails it.
func Redis(t testing.TB) (url, prefix string) {
	t.Helper()
	url = os.Getenv("SWITCHYARD_TEST_REDIS")
	if url == "" {
		testenv.Need(t, "Redis", "SWITCHYARD_TEST_REDIS is unset; e.g. redis://127.0.0.1:6379/0")
		return "", ""
	}
	r, err := ratelimit.NewRedis(url, "")
	if err != nil {
		t.Fatalf("SWITCHYARD_TEST_REDIS: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := r.Ping(ctx); err != nil {
		testenv.Need(t, "Redis", fmt.Sprintf("the Redis at SWITCHYARD_TEST_REDIS (%s) does not answer: %v", url, err))
		return "", ""
	}
	prefix = testenv.Prefix() + ":"
	t.Cleanup(func() { _ = r.DeletePrefix(context.Background(), prefix) })
	return url, prefix
}
