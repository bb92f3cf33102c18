// Package testenv gives tests the services this machine kind runs
// (PostgreSQL, Redis), from the addresses in the environment. Without one,
// a test is skipped locally with how to run it, and fails under CI=true,
// where a skip would hide a test that never ran.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Need skips t (locally) or fails it (CI=true) for the missing service.
func Need(t testing.TB, service, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI: %s", service, why)
	}
	t.Skipf("no %s (%s); see .ci/run for the variables that enable this test", service, why)
}

// Redis connects to SWITCHYARD_TEST_REDIS and closes it after the test.
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	url := os.Getenv("SWITCHYARD_TEST_REDIS")
	if url == "" {
		Need(t, "Redis", "SWITCHYARD_TEST_REDIS is unset; e.g. redis://127.0.0.1:6379/0")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("SWITCHYARD_TEST_REDIS: %v", err)
	}
	rdb := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		Need(t, "Redis", err.Error())
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// Prefix is a name no other test uses, for Redis keys and channels.
func Prefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "switchyard-test:" + hex.EncodeToString(b[:])
}
