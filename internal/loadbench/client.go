package loadbench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// The request bodies of internal/e2e's BenchmarkPassthrough (benchChat,
// benchStream), so that the figures compare.
const (
	chatBody   = `{"model":"gpt-4o","messages":[{"role":"system","content":"You are a helpful assistant"},{"role":"user","content":"Briefly introduce artificial intelligence"}],"temperature":0.7}`
	streamBody = `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Briefly introduce artificial intelligence"}]}`
)

// slowStreamBody is a stream on the slow route; maxTokens bounds its words
// and so how long it stays open.
func slowStreamBody(maxTokens int) []byte {
	return []byte(`{"model":"` + slowModel + `","stream":true,"max_tokens":` + strconv.Itoa(maxTokens) +
		`,"messages":[{"role":"user","content":"Briefly introduce artificial intelligence"}]}`)
}

// target is one server the load is sent to.
type target struct {
	name    string
	chatURL string // POST .../v1/chat/completions
	slowURL string // the same on the slow-stream route
	key     string // Bearer token (the gateway's API key; any value elsewhere)
	proc    *child
}

// newClient is the one HTTP client of the benchmark, sized so that conns
// connections to one target can be open and idle at once.
func newClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: -1}).DialContext,
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     0,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}}
}

func (t *target) post(ctx context.Context, hc *http.Client, url string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header["Content-Type"] = []string{"application/json"}
	req.Header["Authorization"] = []string{"Bearer " + t.key}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, fmt.Errorf("%s: status %d: %s", t.name, resp.StatusCode, bytes.TrimSpace(msg))
	}
	return resp, nil
}

// chat sends one non-streamed chat request and reads the whole answer.
func (t *target) chat(ctx context.Context, hc *http.Client) error {
	resp, err := t.post(ctx, hc, t.chatURL, []byte(chatBody))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// streamResult is what one streamed request saw.
type streamResult struct {
	firstEvent time.Duration // from the send to the first "data:" line
	events     int           // "data:" lines, [DONE] included
	end        time.Time
	err        error // nil only for a stream that ended with data: [DONE]
}

var errTruncated = errors.New("the stream ended without data: [DONE]")

// stream sends one streamed request to url and reads it to the end.
// onFirst, when not nil, is called at the first event.
func (t *target) stream(ctx context.Context, hc *http.Client, url string, body []byte, onFirst func()) streamResult {
	start := time.Now()
	var r streamResult
	resp, err := t.post(ctx, hc, url, body)
	if err != nil {
		r.err, r.end = err, time.Now()
		return r
	}
	defer resp.Body.Close()
	br := bufio.NewReaderSize(resp.Body, 4096)
	done := false
	for !done {
		line, err := br.ReadSlice('\n')
		if bytes.HasPrefix(line, []byte("data:")) {
			if r.events == 0 {
				r.firstEvent = time.Since(start)
				if onFirst != nil {
					onFirst()
				}
			}
			r.events++
			done = bytes.Equal(bytes.TrimSpace(line[len("data:"):]), []byte("[DONE]"))
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if !done {
				if err == io.EOF {
					err = errTruncated
				}
				r.err = err
			}
			break
		}
	}
	if done {
		// Read to EOF so that the connection goes back to the pool.
		_, _ = io.Copy(io.Discard, br)
	}
	r.end = time.Now()
	return r
}
