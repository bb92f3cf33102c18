package console

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/switchyard-gw/switchyard/internal/auth"
)

// call makes one management API request in-process, as the session's
// principal (a key by its hash, or a user): the same handler,
// authorization and validation a script with that key gets. Without a
// session (s nil) the call carries no credential at all. A 2xx answer is decoded into out (when not nil); any other is an
// *apiError with the API's message.
func (c *Console) call(r *http.Request, s *session, method, path string, body, out any) error {
	rec, err := c.roundTrip(r, s, method, path, body)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(rec.body.Bytes(), out)
}

// roundTrip makes the request of call and returns the API's 2xx answer as
// it is, or an *apiError.
func (c *Console) roundTrip(r *http.Request, s *session, method, path string, body any) (*recorder, error) {
	var rd io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	ctx := r.Context()
	if s != nil {
		ctx = auth.WithPrincipal(ctx, s.principal)
	}
	req, err := http.NewRequestWithContext(ctx, method, "/api/v1"+path, rd)
	if err != nil {
		return nil, err
	}
	req.Host = r.Host
	// The client's address as the API reads it: the peer and, from a
	// trusted proxy, its X-Forwarded-For (server.trusted_proxies), so that
	// the API's per-address limits count the browser, not the proxy.
	req.RemoteAddr = r.RemoteAddr
	if fwd := r.Header.Values("X-Forwarded-For"); len(fwd) > 0 {
		req.Header["X-Forwarded-For"] = fwd
	}
	req.Header.Set("User-Agent", "switchyard-console")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := &recorder{header: http.Header{}}
	c.api.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status < 200 || rec.status > 299 {
		var env struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		msg := http.StatusText(rec.status)
		if json.Unmarshal(rec.body.Bytes(), &env) == nil && env.Error.Message != "" {
			msg = env.Error.Message
		}
		return nil, &apiError{status: rec.status, message: msg}
	}
	return rec, nil
}

// recorder is the ResponseWriter of an in-process API call.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}
