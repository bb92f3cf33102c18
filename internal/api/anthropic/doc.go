// Package anthropic translates Anthropic's Messages API (JSON and SSE) to and
// from the canonical llm types, in both roles:
//
//   - upstream: EncodeRequest, DecodeResponse, StreamDecoder, DecodeError turn a
//     canonical request into a Messages body for an Anthropic upstream and its
//     answer back;
//   - ingress: DecodeRequest, EncodeResponse, StreamEncoder, EncodeError serve
//     Anthropic-format clients (Claude Code, the Anthropic SDKs) on
//     POST /v1/messages.
//
// Translation is pure: no I/O, clock, random ids or logging. Ids come from the
// inputs.
//
// # Mappings and decisions
//
// Reasoning → thinking: BudgetTokens → {"type":"enabled","budget_tokens":N}
// with N raised to Anthropic's minimum of 1024; Effort minimal/low → 1024,
// medium → 4096, high/xhigh/max → 16384; Disabled → {"type":"disabled"}.
// Anthropic needs max_tokens > budget_tokens, so when the request's max_tokens
// is not above the budget, max_tokens becomes budget + max_tokens (the
// answer's own allowance on top of the thinking).
//
// Adaptive thinking: {"type":"adaptive"} decodes to Reasoning.Adaptive and
// output_config.effort to Reasoning.Effort; both are encoded back as such.
// For Claude Opus/Sonnet 4.6 and later, Mythos and Fable (see
// adaptiveThinkingModel), which refuse (4.7) or deprecate (4.6) budgets, an
// effort or budget from another dialect is also sent as adaptive thinking
// with output_config.effort (minimal → low; a budget → the nearest effort).
// The adaptive display option is not carried.
//
// Thinking signatures: a signature is valid only for its issuer, so parts
// and stream events carry SignatureVendor. Decoding marks Anthropic's
// signatures "anthropic"; a request to Anthropic carries a thinking block
// only with an Anthropic signature (another vendor's reasoning, signed or
// not, is dropped: Anthropic refuses it), and a response or stream to an
// Anthropic client carries another vendor's reasoning with an empty
// signature. Redacted thinking is Anthropic's and always sent back; in a
// stream it is an EventThinking with Data.
//
// cache_control on text, image, document, tool_use and tool_result blocks
// and on tools is kept verbatim through the canonical form.
//
// response_format ⇄ structured outputs: a json_schema format with a schema
// is sent as output_config.format {"type":"json_schema","schema":…}, the
// schema rewritten into the subset Anthropic accepts (schema.go: objects
// closed with additionalProperties false, unsupported keywords dropped, as
// Anthropic's SDKs do). The JSON comes back as text. Decoding reads
// output_config.format (and the beta's top-level output_format) as a
// json_schema format with no name and Strict false.
//
// json_object (and json_schema without a schema) has no structured-outputs
// form, so it is emulated by a tool named after the format
// (ResponseFormat.Name, else "json_response") with input schema
// {"type":"object"} and forced with tool_choice {"type":"tool"}.
// EncodeRequest returns that name in Encoded.JSONTool; pass it to
// DecodeResponse and StreamDecoder.JSONTool so the forced call comes back as
// text content (the JSON), with finish reason stop. Anthropic refuses a forced
// tool together with extended thinking, so with thinking on the tool is
// offered with tool_choice auto and a system instruction asks the model to
// answer through it.
//
// With thinking enabled, temperature, top_k, top_p below 0.95 and a forced
// tool_choice (any/tool → auto) are dropped: Anthropic rejects them together.
//
// Tool calls: an assistant ToolCall becomes a tool_use block whose input is the
// parsed Arguments; arguments that are not a JSON object (invalid JSON, an
// array, empty) are sent as {} because Anthropic requires an object.
//
// Messages: RoleSystem messages inside Messages are hoisted into system (the
// Messages API has no system turn). RoleTool messages become user turns of
// tool_result blocks, and consecutive turns of the same role are merged.
// Message.Name and Seed have no Anthropic equivalent and are dropped; N > 1
// is refused with a 400 naming n (one answer per request).
// Documents: Part.Filename ↔ the document block's title; a plain-text document
// source ({"type":"text"}) is carried in Part.Text with media type text/plain.
//
// Finish reasons: end_turn, stop_sequence, pause_turn → stop; max_tokens →
// length; tool_use → tool_calls; refusal → content_filter. The inverse maps
// stop → end_turn, length → max_tokens, tool_calls → tool_use,
// content_filter → refusal, error → end_turn.
//
// Usage: Anthropic's input_tokens excludes cached tokens, so PromptTokens =
// input_tokens + cache_read_input_tokens + cache_creation_input_tokens,
// CachedTokens = cache_read, CacheWriteTokens = cache_creation; encoding
// subtracts them again.
package anthropic
