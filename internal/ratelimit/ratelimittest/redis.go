// Package ratelimittest helps tests reach the test Redis.
package ratelimittest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/ratelimit"
)

// Redis connects to the Redis that SWITCHYARD_TEST_REDIS names, under
// a key prefix unique to the test, for tests of this and other packages.
// It skips the test when the variable is unset or the server does not
// answer, except under CI=true, where that fails it.
func Redis(t testing.TB) (url, prefix string) {
	t.Helper()
	url = os.Getenv("SWITCHYARD_TEST_REDIS")
	fail := t.Skipf
	if os.Getenv("CI") == "true" {
		fail = t.Fatalf
	}
	if url == "" {
		fail("SWITCHYARD_TEST_REDIS is unset; set it to e.g. redis://127.0.0.1:6379/0 to run the Redis tests")
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
		fail("the Redis at SWITCHYARD_TEST_REDIS (%s) does not answer: %v", url, err)
		return "", ""
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix = "sytest:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() { _ = r.DeletePrefix(context.Background(), prefix) })
	return url, prefix
}
