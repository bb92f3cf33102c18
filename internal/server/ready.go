package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Readiness states of one check and of the whole.
const (
	checkOK       = "ok"
	checkDegraded = "degraded" // serving, with less than the full promise
	checkFailing  = "failing"  // this instance should get no traffic
)

type readyCheck struct {
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// readiness answers GET /readyz from checks made at most once a second, so
// a load balancer polling every instance often costs the database one
// tiny read per second per instance.
type readiness struct {
	mu      sync.Mutex
	at      time.Time
	status  int
	body    []byte
	timeout time.Duration
}

// ready is GET /readyz: 200 while this instance can serve (everything ok,
// or degraded: the database down with the ledger spooling, Redis down with
// local limits), 503 when it cannot (no config, the ledger blocked or its
// queue backed up, the database down with nowhere to keep records).
func (s *Server) ready(w http.ResponseWriter, r *http.Request) error {
	s.readiness.mu.Lock()
	if now := s.now(); s.readiness.body == nil || now.Sub(s.readiness.at) >= time.Second {
		s.readiness.status, s.readiness.body = s.checkReady(r.Context())
		s.readiness.at = now
	}
	status, body := s.readiness.status, s.readiness.body
	s.readiness.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return nil
}

func (s *Server) checkReady(ctx context.Context) (int, []byte) {
	checks := map[string]readyCheck{}
	if s.cur.Load() == nil {
		checks["config"] = readyCheck{Status: checkFailing, Detail: "no config loaded"}
	} else {
		checks["config"] = readyCheck{Status: checkOK}
	}

	timeout := s.readiness.timeout
	if timeout <= 0 {
		timeout = time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	_, err := s.store.Meta(cctx, "readiness-probe")
	cancel()
	blocked, spooled := s.ledger.Blocked(), s.ledger.Spooled()
	switch {
	case err == nil:
		checks["store"] = readyCheck{Status: checkOK}
	case s.ledgerSpool && !blocked:
		checks["store"] = readyCheck{Status: checkDegraded, Detail: "database unreachable; serving from cached keys and balances, the ledger spools to disk"}
	default:
		checks["store"] = readyCheck{Status: checkFailing, Detail: "database unreachable"}
	}

	depth, capacity := s.ledger.QueueDepth(), s.ledger.QueueCap()
	switch {
	case blocked:
		checks["ledger"] = readyCheck{Status: checkFailing, Detail: "database unreachable and the spool is full: metered requests are refused"}
	case depth*10 >= capacity*9:
		checks["ledger"] = readyCheck{Status: checkFailing, Detail: "backed up: " + strconv.Itoa(depth) + " of " + strconv.Itoa(capacity) + " queued records"}
	case spooled > 0:
		checks["ledger"] = readyCheck{Status: checkDegraded, Detail: strconv.FormatInt(spooled, 10) + " bytes of records spooled, waiting for the database"}
	default:
		checks["ledger"] = readyCheck{Status: checkOK}
	}

	switch {
	case s.redisHealthy == nil:
		checks["redis"] = readyCheck{Status: checkOK, Detail: "not configured"}
	case !s.pingRedis(ctx, timeout):
		checks["redis"] = readyCheck{Status: checkDegraded, Detail: "unreachable; rate limits are enforced per instance until it is back"}
	default:
		checks["redis"] = readyCheck{Status: checkOK}
	}

	overall, code := "ready", http.StatusOK
	for _, c := range checks {
		switch c.Status {
		case checkFailing:
			overall, code = "not_ready", http.StatusServiceUnavailable
		case checkDegraded:
			if code == http.StatusOK {
				overall = "degraded"
			}
		}
	}
	body, _ := json.Marshal(struct {
		Status string                `json:"status"`
		Checks map[string]readyCheck `json:"checks"`
	}{overall, checks})
	return code, body
}

func (s *Server) pingRedis(ctx context.Context, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return s.redisHealthy(ctx)
}
