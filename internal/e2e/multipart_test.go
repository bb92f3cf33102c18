package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-gw/switchyard/internal/fakeupstream"
	"github.com/switchyard-gw/switchyard/internal/money"
)

// multipartConfig adds the multipart endpoints' models to mediaConfig, and
// a small body limit on translations for the 413 cases.
var multipartConfig = strings.Replace(strings.Replace(mediaConfig, `  - id: "fake-*"`, `  - id: whisper-1
    pricing: { per_minute: 0.006 }
    routes: [{ provider: fake }]
  - id: gpt-4o-transcribe
    pricing: { prompt: 2.50, completion: 10.00 }
    routes: [{ provider: fake }]
  - id: dall-e-2
    pricing: { per_request: 0.001, images: { "1024x1024": 0.02, "256x256": 0.016 } }
    routes: [{ provider: fake }]
  - id: whisper-twice
    routes: [{ provider: fake, model: whisper-a }, { provider: fake, model: whisper-b, priority: 1 }]
  - id: "fake-*"`, 1), "  max_body_bytes: 1048576\n", "  max_body_bytes: 1048576\n  endpoint_max_body_bytes: { /audio/translations: 200000 }\n", 1)

// wav is a WAV file whose header says it lasts dataBytes/2000 seconds
// (8-bit mono at 2,000 samples a second, the fake's bitrate), with random
// samples.
func wav(dataBytes int) []byte {
	b := make([]byte, 44+dataBytes)
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+dataBytes))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)    // PCM
	binary.LittleEndian.PutUint16(b[22:], 1)    // mono
	binary.LittleEndian.PutUint32(b[24:], 2000) // sample rate
	binary.LittleEndian.PutUint32(b[28:], 2000) // byte rate
	binary.LittleEndian.PutUint16(b[32:], 1)
	binary.LittleEndian.PutUint16(b[34:], 8)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(dataBytes))
	r := rand.NewChaCha8([32]byte{1})
	_, _ = r.Read(b[44:])
	return b
}

// perMinute is whisper-1's price of secs seconds at $0.006 a minute.
func whisperCost(secs int64) money.Nanos { return money.Nanos(secs * 6_000_000 / 60) }

// TestTranscriptionsWithTheSDK: openai-go's Audio.Transcriptions.New (it
// sends the file before the model: the gateway spools it) in json,
// verbose_json, text and srt; the fake received the file intact (its
// digest is the text), and each answer is charged per second of audio, from
// the answer's duration, the subtitles' last cue, or the WAV header.
func TestTranscriptionsWithTheSDK(t *testing.T) {
	g := start(t, opts{yaml: multipartConfig})
	_, key := g.newAccount(t, "5", "")
	audio := wav(30_000) // 15 s by its header; 15.022 s by the fake's count of bytes
	digest := fakeupstream.FileDigest(audio)
	params := func(format openai.AudioResponseFormat) openai.AudioTranscriptionNewParams {
		return openai.AudioTranscriptionNewParams{File: openai.File(bytes.NewReader(audio), "speech.wav", "audio/wav"),
			Model: "whisper-1", ResponseFormat: format, Language: openai.String("en")}
	}
	var spent money.Nanos
	check := func(name string, hr *http.Response, wantSecs int64) {
		t.Helper()
		gen := storedGeneration(t, g, hr.Header.Get("X-Generation-Id"))
		if want := whisperCost(wantSecs); gen.Cost != want || gen.Status != 200 || gen.Model != "whisper-1" || gen.UsageEstimated {
			t.Fatalf("%s: cost %s (want %s for %d s), status %d, estimated %v", name, gen.Cost, want, wantSecs, gen.Status, gen.UsageEstimated)
		}
		spent += gen.Cost
		if got := g.keyUsage(t, key); got != spent {
			t.Fatalf("%s: the key was charged %s, want %s", name, got, spent)
		}
		up := g.Up.Last()
		if up.Path != "/v1/audio/transcriptions" || !strings.Contains(string(up.Body), "name=\"language\"\r\n\r\nen\r\n") {
			t.Fatalf("%s: upstream got %s with fields %q", name, up.Path, up.Body[:min(len(up.Body), 400)])
		}
	}
	c := g.client(option.WithAPIKey(key))

	var hr *http.Response
	resp, err := c.Audio.Transcriptions.New(context.Background(), params(openai.AudioResponseFormatJSON), option.WithResponseInto(&hr))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != digest || resp.Usage.Seconds != 15.022 {
		t.Fatalf("json: text %q (want %q), usage %+v", resp.Text, digest, resp.Usage)
	}
	check("json", hr, 16) // usage.seconds 15.022, rounded up

	resp, err = c.Audio.Transcriptions.New(context.Background(), params(openai.AudioResponseFormatVerboseJSON), option.WithResponseInto(&hr))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != digest || resp.Duration != 15.022 || len(resp.Segments) != 1 {
		t.Fatalf("verbose_json: %+v", resp)
	}
	check("verbose_json", hr, 16)

	var text string
	if err := c.Post(context.Background(), "audio/transcriptions", params(openai.AudioResponseFormatText), &text, option.WithResponseInto(&hr)); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(text) != digest || !strings.HasPrefix(hr.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("text: %q (%s)", text, hr.Header.Get("Content-Type"))
	}
	check("text", hr, 15) // no duration in the answer: the WAV header's 15 s

	if err := c.Post(context.Background(), "audio/transcriptions", params(openai.AudioResponseFormatSRT), &text, option.WithResponseInto(&hr)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "--> 00:00:15,022") {
		t.Fatalf("srt: %q", text)
	}
	check("srt", hr, 16) // the last cue ends at 15.022 s
}

// TestTranscriptionEstimatedFromFileSize: a text answer for a file that
// is not WAV is charged for its size at 128 kbit/s, and the ledger says
// the length was estimated.
func TestTranscriptionEstimatedFromFileSize(t *testing.T) {
	g := start(t, opts{yaml: multipartConfig})
	mp3 := append([]byte("ID3"), bytes.Repeat([]byte{0xff, 0xfb, 0x90, 0x00}, 40_000)...) // 160,003 bytes: 10.0002 s at 16,000 B/s
	var text string
	var hr *http.Response
	err := g.client().Post(context.Background(), "audio/transcriptions", openai.AudioTranscriptionNewParams{
		File: openai.File(bytes.NewReader(mp3), "a.mp3", "audio/mpeg"), Model: "whisper-1", ResponseFormat: openai.AudioResponseFormatText,
	}, &text, option.WithResponseInto(&hr))
	if err != nil {
		t.Fatal(err)
	}
	gen := storedGeneration(t, g, hr.Header.Get("X-Generation-Id"))
	if gen.Cost != whisperCost(11) || !gen.UsageEstimated {
		t.Fatalf("cost %s (want %s), estimated %v", gen.Cost, whisperCost(11), gen.UsageEstimated)
	}
}

// TestTranscriptionPricedByTokens: gpt-4o-transcribe reports token usage;
// it is charged at the token prices and shown as usage.cost.
func TestTranscriptionPricedByTokens(t *testing.T) {
	g := start(t, opts{yaml: multipartConfig})
	audio := wav(30_000)
	var hr *http.Response
	resp, err := g.client().Audio.Transcriptions.New(context.Background(), openai.AudioTranscriptionNewParams{
		File: openai.File(bytes.NewReader(audio), "speech.wav", "audio/wav"), Model: "gpt-4o-transcribe",
	}, option.WithResponseInto(&hr))
	if err != nil {
		t.Fatal(err)
	}
	// 150 audio tokens at $2.50/M and 2 words out at $10/M.
	want := money.Nanos(150*2500 + 2*10_000)
	var cost struct {
		Usage struct {
			Cost        float64 `json:"cost"`
			InputTokens int64   `json:"input_tokens"`
		} `json:"usage"`
	}
	_ = json.Unmarshal([]byte(resp.RawJSON()), &cost)
	gen := storedGeneration(t, g, hr.Header.Get("X-Generation-Id"))
	if gen.Cost != want || gen.TokensPrompt != 150 || gen.TokensCompletion != 2 || cost.Usage.InputTokens != 150 || money.Nanos(cost.Usage.Cost*1e9+0.5) != want {
		t.Fatalf("cost %s (want %s), tokens %d/%d, usage in answer %+v", gen.Cost, want, gen.TokensPrompt, gen.TokensCompletion, cost.Usage)
	}
}

// TestTranslationsWithTheSDK: Audio.Translations.New through the gateway;
// charged per second like a transcription.
func TestTranslationsWithTheSDK(t *testing.T) {
	g := start(t, opts{yaml: multipartConfig})
	audio := wav(12_000)
	var hr *http.Response
	//lint:ignore SA1019 the SDK marks translations deprecated; the endpoint is still OpenAI's and served here
	resp, err := g.client().Audio.Translations.New(context.Background(), openai.AudioTranslationNewParams{
		File: openai.File(bytes.NewReader(audio), "fr.wav", "audio/wav"), Model: "whisper-1",
	}, option.WithResponseInto(&hr))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != fakeupstream.FileDigest(audio) || g.Up.Last().Path != "/v1/audio/translations" {
		t.Fatalf("text %q, upstream path %s", resp.Text, g.Up.Last().Path)
	}
	if gen := storedGeneration(t, g, hr.Header.Get("X-Generation-Id")); gen.Cost != whisperCost(7) { // 6.022 s
		t.Fatalf("cost %s, want %s", gen.Cost, whisperCost(7))
	}
}

// TestImageEditsWithTheSDK: Images.Edit with two images and a mask; the
// fake got the first image intact, and the edit is priced per image
// delivered plus per request, charged to the key; a gpt-image edit is
// priced by the tokens reported.
func TestImageEditsWithTheSDK(t *testing.T) {
	g := start(t, opts{yaml: multipartConfig})
	_, key := g.newAccount(t, "5", "")
	img := wav(5000) // any bytes: the fake does not decode images
	var hr *http.Response
	resp, err := g.client(option.WithAPIKey(key)).Images.Edit(context.Background(), openai.ImageEditParams{
		Image:  openai.ImageEditParamsImageUnion{OfFileArray: []io.Reader{openai.File(bytes.NewReader(img), "a.png", "image/png"), openai.File(strings.NewReader("second"), "b.png", "image/png")}},
		Mask:   openai.File(strings.NewReader("mask"), "m.png", "image/png"),
		Prompt: "add a hat", Model: "dall-e-2", N: openai.Int(2), Size: openai.ImageEditParamsSize1024x1024,
	}, option.WithResponseInto(&hr))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Data) != 2 || resp.Data[0].RevisedPrompt != fakeupstream.FileDigest(img) {
		t.Fatalf("data %+v", resp.Data)
	}
	up := g.Up.Last()
	if up.Path != "/v1/images/edits" || !bytes.Contains(up.Body, []byte(`filename="m.png"`)) || !bytes.Contains(up.Body, []byte("second")) {
		t.Fatalf("upstream got %s %q", up.Path, up.Body[:min(400, len(up.Body))])
	}
	gen := storedGeneration(t, g, hr.Header.Get("X-Generation-Id"))
	if want := money.Nanos(2*20_000_000 + 1_000_000); gen.Cost != want || g.keyUsage(t, key) != want {
		t.Fatalf("cost %s, key usage %s, want %s", gen.Cost, g.keyUsage(t, key), want)
	}

	_, err = g.client().Images.Edit(context.Background(), openai.ImageEditParams{
		Image:  openai.ImageEditParamsImageUnion{OfFile: openai.File(bytes.NewReader(img), "a.png", "image/png")},
		Prompt: "add a hat", Model: "gpt-image-1",
	}, option.WithResponseInto(&hr))
	if err != nil {
		t.Fatal(err)
	}
	gen = storedGeneration(t, g, hr.Header.Get("X-Generation-Id"))
	in, out := int64(3+fakeupstream.FakeImageInputTokens), int64(fakeupstream.FakeImageOutputTokens)
	if want := money.Nanos(in*5000 + out*40_000); gen.Cost != want || gen.TokensPrompt != in {
		t.Fatalf("gpt-image edit: cost %s, want %s (tokens %d)", gen.Cost, want, gen.TokensPrompt)
	}
}

// gatedReader yields head, then waits for ready before yielding rest: it
// stands for a client still uploading.
type gatedReader struct {
	head, rest io.Reader
	ready      func() bool
	timedOut   bool
}

func (g *gatedReader) Read(b []byte) (int, error) {
	if n, err := g.head.Read(b); n > 0 || err != io.EOF {
		return n, err
	}
	if g.ready != nil {
		deadline := time.Now().Add(10 * time.Second)
		for !g.ready() {
			if time.Now().After(deadline) {
				g.timedOut = true
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		g.ready = nil
	}
	return g.rest.Read(b)
}

// formParts is a multipart body with the model first (as the Python SDK
// and curl -F model=… first send it), a file of size bytes, then more
// fields; split is where the gated reader stops until released.
func formParts(t *testing.T, model string, file []byte, after ...string) (body []byte, ct string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("model", model)
	w, _ := mw.CreateFormFile("file", "big.wav")
	_, _ = w.Write(file)
	for i := 0; i+1 < len(after); i += 2 {
		_ = mw.WriteField(after[i], after[i+1])
	}
	_ = mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// TestMultipartUploadIsStreamed: with the model before the file, the
// upstream receives the file while the client is still sending it: the
// client holds back the second half of a 20 MB upload until the fake has
// read 8 MB of the body, which cannot happen if the gateway buffers it.
// The answer then shows the file arrived intact.
func TestMultipartUploadIsStreamed(t *testing.T) {
	g := start(t, opts{yaml: multipartConfig})
	audio := wav(20 << 20)
	body, ct := formParts(t, "whisper-1", audio, "response_format", "json")
	half := len(body) / 2
	gr := &gatedReader{head: bytes.NewReader(body[:half]), rest: bytes.NewReader(body[half:]),
		ready: func() bool { return g.Up.BodyBytesReceived() >= 8<<20 }}
	req, _ := http.NewRequest("POST", g.URL+"/v1/audio/transcriptions", gr) // chunked: no Content-Length
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+g.Key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := readAll(t, resp.Body)
	if gr.timedOut {
		t.Fatalf("the upstream had read %d bytes while the client held back the second half: the gateway buffered the upload", g.Up.BodyBytesReceived())
	}
	if resp.StatusCode != 200 || !strings.Contains(out, fakeupstream.FileDigest(audio)) {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
}

// TestMultipartHostileBodies: bad forms are 4xx in the OpenAI envelope,
// never a 5xx, and reach no upstream unless the upload was already
// streaming.
func TestMultipartHostileBodies(t *testing.T) {
	g := start(t, opts{yaml: multipartConfig})
	good, goodCT := formParts(t, "whisper-1", wav(100))
	many := &bytes.Buffer{}
	mw := multipart.NewWriter(many)
	for i := range 10_000 {
		_ = mw.WriteField(fmt.Sprint("f", i), "x")
	}
	_ = mw.Close()
	twice, twiceCT := formParts(t, "whisper-1", wav(100), "model", "other")
	noFile := &bytes.Buffer{}
	mw2 := multipart.NewWriter(noFile)
	_ = mw2.WriteField("model", "whisper-1")
	_ = mw2.Close()
	streamed, streamedCT := formParts(t, "gpt-4o-transcribe", wav(100), "stream", "true")
	big, bigCT := formParts(t, "whisper-1", wav(300_000))
	cases := []struct {
		name, path, ct string
		body           []byte
		chunked        bool
		status         int
	}{
		{"json body", "/v1/audio/transcriptions", "application/json", []byte(`{"model":"whisper-1"}`), false, 400},
		{"no boundary", "/v1/audio/transcriptions", "multipart/form-data", good, false, 400},
		{"wrong boundary", "/v1/audio/transcriptions", "multipart/form-data; boundary=nope", good, false, 400},
		{"truncated", "/v1/audio/transcriptions", goodCT, good[:len(good)-20], false, 400},
		{"truncated and streamed", "/v1/audio/transcriptions", goodCT, good[:len(good)-20], true, 400},
		{"10,000 parts", "/v1/audio/transcriptions", mw.FormDataContentType(), many.Bytes(), false, 400},
		{"no file", "/v1/audio/transcriptions", mw2.FormDataContentType(), noFile.Bytes(), false, 400},
		{"model after the file, twice", "/v1/audio/transcriptions", twiceCT, twice, false, 400},
		{"stream after the file", "/v1/audio/transcriptions", streamedCT, streamed, false, 400},
		{"over the endpoint limit", "/v1/audio/translations", bigCT, big, false, 413},
		{"over the limit while streaming", "/v1/audio/translations", bigCT, big, true, 413},
		{"edit without an image", "/v1/images/edits", goodCT, good, false, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r io.Reader = bytes.NewReader(c.body)
			if c.chunked {
				r = io.MultiReader(r) // hides the length: sent chunked
			}
			req, _ := http.NewRequest("POST", g.URL+c.path, r)
			req.Header.Set("Content-Type", c.ct)
			req.Header.Set("Authorization", "Bearer "+g.Key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var env struct {
				Error struct{ Message, Type string } `json:"error"`
			}
			raw := readAll(t, resp.Body)
			if resp.StatusCode != c.status || json.Unmarshal([]byte(raw), &env) != nil || env.Error.Message == "" {
				t.Fatalf("%d %s, want %d in the OpenAI envelope", resp.StatusCode, raw, c.status)
			}
		})
	}
}

// TestSpooledUploadFailsOver: an upload spooled because its model came
// after the file is sent again to the next route when the first fails.
func TestSpooledUploadFailsOver(t *testing.T) {
	g := start(t, opts{yaml: multipartConfig})
	g.Up.Enqueue(fakeupstream.Behavior{Status: 500})
	audio := wav(4000)
	resp, err := g.client(option.WithMaxRetries(0)).Audio.Transcriptions.New(context.Background(), openai.AudioTranscriptionNewParams{
		File: openai.File(bytes.NewReader(audio), "a.wav", "audio/wav"), Model: "whisper-twice",
	})
	var apiErr *openai.Error
	if errors.As(err, &apiErr) {
		t.Fatalf("%d %s", apiErr.StatusCode, apiErr.Message)
	}
	if err != nil {
		t.Fatal(err)
	}
	reqs := g.Up.Requests()
	if resp.Text != fakeupstream.FileDigest(audio) || len(reqs) != 2 || !bytes.Contains(reqs[0].Body, audio) || !bytes.Contains(reqs[1].Body, []byte("whisper-b")) {
		t.Fatalf("text %q after %d upstream calls", resp.Text, len(reqs))
	}
	// A spooled form's length is known: it is sent with a Content-Length.
	if cl := reqs[1].Header.Get("Content-Length"); cl != fmt.Sprint(len(reqs[1].Body)) {
		t.Fatalf("a spooled upload of %d bytes was sent with Content-Length %q", len(reqs[1].Body), cl)
	}
}

// TestEndpointBodyLimitOnJSON: a JSON endpoint's own limit replaces
// server.max_body_bytes for it alone: a body over it is a 413 naming the
// endpoint, and the same body to another endpoint is served.
func TestEndpointBodyLimitOnJSON(t *testing.T) {
	y := strings.Replace(baseConfig, "  max_body_bytes: 1048576\n", "  max_body_bytes: 1048576\n  endpoint_max_body_bytes: { /chat/completions: 2000 }\n", 1)
	g := start(t, opts{yaml: y})
	long := strings.Repeat("word ", 600)
	resp := g.post(t, "/v1/chat/completions", g.Key, `{"model":"gpt-4o","messages":[{"role":"user","content":"`+long+`"}]}`)
	out := readAll(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 413 || !strings.Contains(out, "/chat/completions (server.endpoint_max_body_bytes)") {
		t.Fatalf("chat over its limit: %d %s", resp.StatusCode, out)
	}
	resp = g.post(t, "/v1/embeddings", g.Key, `{"model":"fake-embed","input":"`+long+`"}`)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("embeddings under max_body_bytes: %d", resp.StatusCode)
	}
}

// TestTranscriptionStreamed: the SDK's NewStreaming (stream=true, sent
// after the file: the upload is spooled) gets the upstream's
// transcript.text.delta events and the done event, and the usage in the
// done event is charged.
func TestTranscriptionStreamed(t *testing.T) {
	g := start(t, opts{yaml: multipartConfig})
	audio := wav(30_000)
	var hr *http.Response
	st := g.client().Audio.Transcriptions.NewStreaming(context.Background(), openai.AudioTranscriptionNewParams{
		File: openai.File(bytes.NewReader(audio), "speech.wav", "audio/wav"), Model: "gpt-4o-transcribe",
	}, option.WithResponseInto(&hr))
	var deltas strings.Builder
	var done string
	for st.Next() {
		ev := st.Current()
		switch ev.Type {
		case "transcript.text.delta":
			deltas.WriteString(ev.Delta)
		case "transcript.text.done":
			done = ev.Text
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	digest := fakeupstream.FileDigest(audio)
	if strings.TrimSpace(deltas.String()) != digest || done != digest {
		t.Fatalf("deltas %q, done %q, want %q", deltas.String(), done, digest)
	}
	gen := storedGeneration(t, g, hr.Header.Get("X-Generation-Id"))
	if want := money.Nanos(150*2500 + 2*10_000); gen.Cost != want || !gen.Streamed || gen.TokensPrompt != 150 {
		t.Fatalf("cost %s (want %s), streamed %v, prompt tokens %d", gen.Cost, want, gen.Streamed, gen.TokensPrompt)
	}
}
