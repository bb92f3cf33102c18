package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/fakeupstream"
	"github.com/switchyard-gw/switchyard/internal/money"
)

// vercelDir is the Node project of the Vercel AI SDK clients (cases.mjs);
// its node_modules come from `npm ci --prefix internal/e2e/testdata/vercel`.
const vercelDir = "testdata/vercel"

// vercelNode returns the node binary, or skips (fails under CI=true) when
// node or the project's modules are missing.
func vercelNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	missing := ""
	if err != nil {
		missing = "node is not on PATH"
	} else {
		for _, m := range []string{"ai", "@ai-sdk/openai", "zod"} {
			if _, err := os.Stat(filepath.Join(vercelDir, "node_modules", m, "package.json")); err != nil {
				missing = "the Node module " + m + " is not installed"
				break
			}
		}
	}
	if missing != "" {
		msg := missing + ": install Node.js 20 or later and run `npm ci --prefix internal/e2e/testdata/vercel` (.ci/run does it)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return node
}

// vercelUsage is the SDK's LanguageModelUsage; Raw is the gateway's usage
// object as the SDK received it (absent from a multi-step total).
type vercelUsage struct {
	InputTokens  int64 `json:"inputTokens"`
	OutputTokens int64 `json:"outputTokens"`
	TotalTokens  int64 `json:"totalTokens"`
	Raw          *struct {
		Cost money.Nanos `json:"cost"`
	} `json:"raw"`
}

type vercelStep struct {
	FinishReason string `json:"finishReason"`
	Text         string `json:"text"`
	ToolCalls    []struct {
		ID    string            `json:"id"`
		Name  string            `json:"name"`
		Input map[string]string `json:"input"`
	} `json:"toolCalls"`
	ToolResults []struct {
		ID     string `json:"id"`
		Output string `json:"output"`
	} `json:"toolResults"`
	ResponseID string `json:"responseId"`
}

// vercelResult is one line of cases.mjs: the SDK's view of one case.
type vercelResult struct {
	Case         string          `json:"case"`
	Error        json.RawMessage `json:"error"`
	Calls        []string        `json:"calls"`
	Text         string          `json:"text"`
	FinishReason string          `json:"finishReason"`
	Usage        vercelUsage     `json:"usage"`
	ResponseID   string          `json:"responseId"`
	Steps        []vercelStep    `json:"steps"`
	Object       map[string]any  `json:"object"`
	Deltas       []string        `json:"deltas"`
	Parts        map[string]int  `json:"parts"`
	First        string          `json:"first"`
	Second       string          `json:"second"`
	ResponseIDs  []string        `json:"responseIds"`
}

// runVercel runs cases.mjs against g with model and returns its results by
// case name, in the order they ran.
func runVercel(t *testing.T, node string, g *gateway, model string) map[string]vercelResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "cases.mjs")
	cmd.Dir = vercelDir
	cmd.Env = append(os.Environ(), "SWITCHYARD_BASE_URL="+g.URL+"/v1", "SWITCHYARD_KEY="+g.Key, "SWITCHYARD_MODEL="+model)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node cases.mjs: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	out := map[string]vercelResult{}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r vercelResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("cases.mjs printed %q: %v\nstderr:\n%s", sc.Text(), err, stderr.String())
		}
		if r.Error != nil {
			t.Errorf("case %s: the SDK failed: %s", r.Case, r.Error)
		}
		// Every request the SDK made was a Responses call.
		for _, c := range r.Calls {
			if c != "POST "+g.URL+"/v1/responses" {
				t.Errorf("case %s: the SDK sent %s, want POST %s/v1/responses", r.Case, c, g.URL)
			}
		}
		out[r.Case] = r
	}
	if t.Failed() {
		t.FailNow()
	}
	return out
}

// vercelUpstreams are the upstream formats the SDK is served from, with
// what each fake is known to send and how each request reaches it.
var vercelUpstreams = []struct {
	name, yaml, model     string
	wholePath, streamPath string // the upstream path's suffix, whole and streamed
	streamBody            string // in a streamed request's body
	arg                   string // the fake's value for a required string argument
	schemaMark            string // how JSON schema output reaches it
	prompt, completion    int64  // price per token, in nano-dollars
}{
	{"openai", "", "gpt-4o", "/v1/chat/completions", "/v1/chat/completions", `"stream":true`, "mock", `"json_schema"`, 2500, 10000},
	{"anthropic", claudeConfig, "claude-sonnet-4-5", "/v1/messages", "/v1/messages", `"stream":true`, "fake", `"output_config"`, 3000, 15000},
	{"gemini", geminiUpConfig, "gemini-2.5-flash", ":generateContent", ":streamGenerateContent", "", "fake", `"responseSchema"`, 1250, 10000},
}

// TestVercelAISDK: the Vercel AI SDK's default OpenAI model (the Responses
// API) against every upstream format: generateText plain, with a tool run
// by the SDK between two steps, with Output.object, generateObject,
// streamText (deltas, finish, usage), streamText with a tool, and a
// multi-turn messages array continued with the first answer's
// response.messages. Checked: what the SDK returned, what the upstream
// received, and the ledger.
func TestVercelAISDK(t *testing.T) {
	node := vercelNode(t)
	for _, up := range vercelUpstreams {
		t.Run(up.name, func(t *testing.T) {
			g := start(t, opts{yaml: up.yaml})
			// The upstream's answers, in the order cases.mjs asks; an
			// empty behaviour calls the tool or answers the schema.
			g.Up.Enqueue(
				fakeBehavior{Reply: "Hello from the fake."}, // text
				fakeBehavior{}, fakeBehavior{Reply: "It is sunny in Paris."}, // tool: the call, then the answer
				fakeBehavior{}, fakeBehavior{}, // output, object
				fakeBehavior{Reply: "one two three four"}, // stream
				fakeBehavior{}, fakeBehavior{Reply: "Sunny."}, // stream_tool
				fakeBehavior{Reply: "You are Ada."}, fakeBehavior{Reply: "Still Ada."}, // multiturn
			)
			res := runVercel(t, node, g, up.model)
			reqs := g.Up.Requests()
			if len(reqs) != 10 {
				t.Fatalf("the upstream got %d requests, want 10", len(reqs))
			}
			upReq := func(i int, streamed bool, want ...string) fakeupstream.Request {
				t.Helper()
				r := reqs[i]
				body := string(r.Body)
				path, isStream := up.wholePath, false
				if streamed {
					path = up.streamPath
				}
				if up.streamBody != "" {
					isStream = strings.Contains(body, up.streamBody)
				} else {
					isStream = strings.HasSuffix(r.Path, up.streamPath)
				}
				if !strings.HasSuffix(r.Path, path) || isStream != streamed {
					t.Errorf("upstream request %d: %s (streamed %v), want …%s streamed %v", i, r.Path, isStream, path, streamed)
				}
				for _, w := range want {
					if !strings.Contains(body, w) {
						t.Errorf("upstream request %d lacks %s: %s", i, w, body)
					}
				}
				return r
			}
			// ledger checks the record of one generation against the
			// usage the SDK saw, and the cost against the catalogue price.
			ledger := func(id string, streamed bool, u vercelUsage) {
				t.Helper()
				gen := g.waitGeneration(t, id)
				want := money.Nanos(gen.TokensPrompt*up.prompt + gen.TokensCompletion*up.completion)
				if gen.Model != up.model || gen.Status != 200 || gen.Streamed != streamed || gen.UsageEstimated ||
					gen.TokensPrompt != u.InputTokens || gen.TokensCompletion != u.OutputTokens || gen.Cost != want || want == 0 {
					t.Errorf("ledger %s: %+v; the SDK saw %+v", id, gen, u)
				}
				if u.Raw == nil || u.Raw.Cost != gen.Cost {
					t.Errorf("usage.cost the SDK got %+v, ledger %s", u.Raw, gen.Cost)
				}
			}

			r := res["text"]
			if r.Text != "Hello from the fake." || r.FinishReason != "stop" || r.Usage.InputTokens == 0 ||
				r.Usage.OutputTokens != 4 || r.Usage.TotalTokens != r.Usage.InputTokens+r.Usage.OutputTokens || len(r.Calls) != 1 {
				t.Errorf("text: %+v", r)
			}
			upReq(0, false, "Be brief.", "Say hello")
			ledger(r.ResponseID, false, r.Usage)

			// The tool loop: the call, the SDK's run of it, the answer.
			r = res["tool"]
			if len(r.Steps) != 2 || len(r.Calls) != 2 {
				t.Fatalf("tool: %+v", r)
			}
			s0, s1 := r.Steps[0], r.Steps[1]
			if s0.FinishReason != "tool-calls" || len(s0.ToolCalls) != 1 || s0.ToolCalls[0].Name != "get_weather" || s0.ToolCalls[0].Input["city"] != up.arg ||
				len(s0.ToolResults) != 1 || s0.ToolResults[0].ID != s0.ToolCalls[0].ID || s0.ToolResults[0].Output != "sunny, 21C in "+up.arg {
				t.Fatalf("tool step 1: %+v", s0)
			}
			if s1.FinishReason != "stop" || s1.Text != "It is sunny in Paris." || len(s1.ToolCalls) != 0 || r.Text != s1.Text || r.FinishReason != "stop" {
				t.Errorf("tool step 2: %+v", r)
			}
			upReq(1, false, "What is the weather in Paris?", "get_weather", "The current weather in a city.")
			// The second step sends the call and its result back.
			callID := s0.ToolCalls[0].ID
			if up.name == "gemini" {
				callID = "functionCall" // Gemini's calls have no ids; the gateway made the SDK's
			}
			upReq(2, false, "What is the weather in Paris?", "get_weather", callID, "sunny, 21C in "+up.arg)
			var total vercelUsage
			for _, s := range r.Steps {
				gen := g.waitGeneration(t, s.ResponseID)
				total.InputTokens += gen.TokensPrompt
				total.OutputTokens += gen.TokensCompletion
			}
			if total.InputTokens != r.Usage.InputTokens || total.OutputTokens != r.Usage.OutputTokens {
				t.Errorf("tool: the SDK's total usage %+v, the ledger's %+v", r.Usage, total)
			}

			// JSON schema output, both ways the SDK asks for it.
			for i, c := range []string{"output", "object"} {
				r = res[c]
				if r.Object["name"] != up.arg || r.Object["age"] != float64(1) || len(r.Object) != 2 || r.FinishReason != "stop" {
					t.Errorf("%s: %+v", c, r)
				}
				upReq(3+i, false, "Invent a person.", up.schemaMark, `"age"`)
				ledger(r.ResponseID, false, r.Usage)
			}

			r = res["stream"]
			if strings.Join(r.Deltas, "") != "one two three four" || len(r.Deltas) != 4 || r.Text != "one two three four" ||
				r.FinishReason != "stop" || r.Usage.OutputTokens != 4 || r.Usage.InputTokens == 0 {
				t.Errorf("stream: %+v", r)
			}
			upReq(5, true, "Count to three")
			ledger(r.ResponseID, true, r.Usage)

			r = res["stream_tool"]
			if len(r.Steps) != 2 || r.Steps[0].FinishReason != "tool-calls" || len(r.Steps[0].ToolCalls) != 1 || r.Steps[0].ToolCalls[0].Input["city"] != up.arg ||
				r.Text != "Sunny." || r.FinishReason != "stop" || r.Parts["tool-call"] != 1 || r.Parts["tool-result"] != 1 || r.Parts["tool-input-delta"] == 0 || r.Parts["text-delta"] == 0 {
				t.Errorf("stream_tool: %+v", r)
			}
			upReq(6, true, "get_weather")
			upReq(7, true, "sunny, 21C in "+up.arg)
			for _, s := range r.Steps {
				if gen := g.waitGeneration(t, s.ResponseID); !gen.Streamed || gen.Status != 200 {
					t.Errorf("stream_tool ledger: %+v", gen)
				}
			}

			// Multi-turn: a messages array, then the conversation continued
			// with the first answer's response.messages (sent back as an
			// item_reference to the stored answer).
			r = res["multiturn"]
			if r.First != "You are Ada." || r.Second != "Still Ada." || len(r.ResponseIDs) != 2 {
				t.Errorf("multiturn: %+v", r)
			}
			first := string(upReq(8, false, "You are terse.", "My name is Ada.", "Hello Ada.", "What is my name?").Body)
			if strings.Index(first, "My name is Ada.") > strings.Index(first, "Hello Ada.") || strings.Index(first, "Hello Ada.") > strings.Index(first, "What is my name?") {
				t.Errorf("multiturn: turns out of order upstream: %s", first)
			}
			second := string(upReq(9, false, "What is my name?", "You are Ada.", "And again?").Body)
			if strings.Index(second, "You are Ada.") > strings.Index(second, "And again?") || strings.Contains(second, "item_reference") {
				t.Errorf("multiturn: the earlier answer not in place upstream: %s", second)
			}
			for _, id := range r.ResponseIDs {
				if gen := g.waitGeneration(t, id); gen.Status != 200 || gen.Model != up.model {
					t.Errorf("multiturn ledger: %+v", gen)
				}
			}
		})
	}
}
