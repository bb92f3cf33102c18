// Package mock is Switchyard's built-in simulated model: an http.Handler that
// speaks the OpenAI wire format (chat completions, legacy completions,
// embeddings, models) and answers deterministically without a network.
//
// It is the zero-config default provider, the demo model and the upstream of
// the load benchmarks, so it is built to be cheap: requests are decoded with
// encoding/json, but responses are appended byte by byte into pooled buffers
// instead of going through reflection, and nothing in it sleeps unless
// Options asks it to.
//
// What the model says:
//
//   - With Options.Reply set, the answer is that text. It is streamed one
//     word at a time, each piece carrying the whitespace that follows the
//     word, so the pieces concatenate back to Reply exactly.
//   - Otherwise the answer is "This is the mock model answering:" followed by
//     the words of the last user message, padded with filler or cut to
//     Options.Words words.
//   - With response_format json_schema (and no Reply), the answer is JSON
//     made from the schema (schema.go: every property, enums' first values,
//     formats, bounds, $ref…), streamed in the 4-byte pieces of tool-call
//     arguments, one token each; json_object gets {"answer": the text}.
//   - A word is a token. max_completion_tokens (or max_tokens) cuts the answer
//     and turns finish_reason into "length". prompt_tokens counts the
//     whitespace-separated words of every message's text plus 4 per message.
//   - With tools in the request and tool_choice not "none", the model calls
//     the first function tool (or the one tool_choice names) with arguments
//     made from its parameters schema as for json_schema. The exception is a conversation whose
//     last message is a tool result and whose tool_choice is "auto": the model
//     then answers in text, as a real model would, so that agent loops run by
//     demos end instead of calling the tool forever.
//
// Streams follow OpenAI's order: a role chunk, one chunk per word (or per
// small piece of tool-call arguments), a chunk with an empty delta and the
// finish_reason, then a usage-only chunk with "choices":[] when
// stream_options.include_usage is true, then "data: [DONE]". When usage was
// asked for, every other chunk carries "usage":null, as OpenAI's do.
// Options.UsageInFinishChunk moves usage onto the finish chunk and sends it
// whether or not it was asked for (DeepSeek's habit); Options.OmitUsage never
// sends usage at all, in streams or in whole responses, like a provider that
// does not report it.
//
// NewTransport serves a handler in-process as an http.RoundTripper, streaming
// the body as the handler writes it, so the gateway can use the mock as an
// upstream without opening a socket.
package mock
