package relay

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/switchyard-gw/switchyard/internal/jsonstr"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// logAccess writes the access log's line for a finished request: to
// Deps.AccessLog directly when it is set, else through Log.
func (rl *Relay) logAccess(ctx context.Context, g *store.Generation, u llm.Usage, cost money.Nanos) {
	if rl.AccessLog == nil {
		rl.Log.LogAttrs(ctx, slog.LevelInfo, "generation", accessAttrs(g, u, cost)...)
		return
	}
	bp := accessLines.Get().(*[]byte)
	*bp = appendAccessLine((*bp)[:0], rl.Now(), g, u, cost)
	_, _ = rl.AccessLog.Write(*bp)
	accessLines.Put(bp)
}

// accessAttrs are the access log line's attributes, for slog.
func accessAttrs(g *store.Generation, u llm.Usage, cost money.Nanos) []slog.Attr {
	return []slog.Attr{slog.String("request_id", g.RequestID), slog.String("id", g.ID),
		slog.String("model", g.Model), slog.String("provider", g.Provider), slog.String("upstream_model", g.UpstreamModel),
		slog.Int("status", g.Status), slog.String("error", g.ErrorCode), slog.Bool("stream", g.Streamed), slog.Bool("cancelled", g.Cancelled),
		slog.Int64("prompt_tokens", u.PromptTokens), slog.Int64("completion_tokens", u.CompletionTokens), slog.Bool("estimated", u.Estimated),
		slog.String("cost", cost.String()), slog.Duration("latency", g.Latency)}
}

var accessLines = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// appendAccessLine appends the line that slog's JSON handler writes for
// the "generation" record of accessAttrs at time now, byte for byte
// (FuzzAccessLineIsSlogs): through slog, building the record and
// dispatching its fourteen attributes cost more than the rest of a
// request's finish.
func appendAccessLine(b []byte, now time.Time, g *store.Generation, u llm.Usage, cost money.Nanos) []byte {
	b = append(b, `{"time":"`...)
	b = now.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"INFO","msg":"generation","request_id":`...)
	b = jsonstr.Append(b, g.RequestID)
	b = append(b, `,"id":`...)
	b = jsonstr.Append(b, g.ID)
	b = append(b, `,"model":`...)
	b = jsonstr.Append(b, g.Model)
	b = append(b, `,"provider":`...)
	b = jsonstr.Append(b, g.Provider)
	b = append(b, `,"upstream_model":`...)
	b = jsonstr.Append(b, g.UpstreamModel)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(g.Status), 10)
	b = append(b, `,"error":`...)
	b = jsonstr.Append(b, g.ErrorCode)
	b = append(b, `,"stream":`...)
	b = strconv.AppendBool(b, g.Streamed)
	b = append(b, `,"cancelled":`...)
	b = strconv.AppendBool(b, g.Cancelled)
	b = append(b, `,"prompt_tokens":`...)
	b = strconv.AppendInt(b, u.PromptTokens, 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, u.CompletionTokens, 10)
	b = append(b, `,"estimated":`...)
	b = strconv.AppendBool(b, u.Estimated)
	b = append(b, `,"cost":"`...)
	b = cost.AppendJSON(b) // digits, a point and a sign: nothing to escape
	b = append(b, `","latency":`...)
	b = strconv.AppendInt(b, int64(g.Latency), 10)
	return append(b, "}\n"...)
}
