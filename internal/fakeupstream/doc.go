// Package fakeupstream is the provider fake that tests and benchmarks point
// the gateway at: a real HTTP server on loopback that answers in a
// provider's wire format and can be told to misbehave.
//
// The OpenAI answers come from the mock provider (internal/provider/mock),
// so text, tool calls, streaming and usage are produced in one place for
// the in-process default model and for this fake. What the fake adds is the
// part a gateway's error handling is tested against:
//
//   - faults, per request or by default: an HTTP error in the provider's
//     envelope (with Retry-After), a slow first byte, a connection dropped
//     before the headers or after some stream events, a stream ended
//     cleanly but early (without its final event), a malformed body or
//     event;
//   - a record of every request (headers, body, arrival, and whether and
//     when the client gave up on it), so a test can check what the gateway
//     sent upstream and that it cancelled upstream work when its own client
//     went away;
//   - an API key check.
//
// The server core (server.go) records, picks behaviours and injects faults
// without knowing any wire format; each format is a dialect in its own file
// (openai.go; anthropic.go for Anthropic's Messages API at paths ending in
// /v1/messages; gemini.go for Google's Gemini API at paths ending in
// models/{model}:generateContent, :streamGenerateContent or
// :batchEmbedContents; responses.go for OpenAI's Responses API at paths
// ending in /v1/responses; vertex.go for Google Vertex AI's publisher model
// paths under /v1/projects/, with an OAuth token endpoint at /token that
// checks service-account JWT assertions and mints the short-lived tokens
// those paths require; bedrock.go for Amazon Bedrock's Converse API at
// /model/{id}/converse[-stream], with SigV4 signatures recomputed and AWS
// event-stream framing).
package fakeupstream
