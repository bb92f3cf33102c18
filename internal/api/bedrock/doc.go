// Package bedrock translates between the canonical form (package llm) and
// Amazon Bedrock's Converse API: POST /model/{modelId}/converse and
// /model/{modelId}/converse-stream
// (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html).
// It is pure: bytes in, bytes out; no network, clock or randomness. The
// stream's AWS event-stream framing is read by internal/framing, which
// hands each message here by its event type.
//
// What maps to what:
//   - system messages → system [{text}]; user and assistant turns →
//     messages with content blocks; consecutive turns of one role are one
//     message (Converse wants them alternating).
//   - text → {text}; images (inline base64 or data: URLs) → {image:
//     {format, source: {bytes}}}; s3:// URLs → source.s3Location;
//     documents (PDF, CSV, …) → {document}; http(s) image URLs are refused
//     (Converse fetches nothing).
//   - tools → toolConfig.tools[].toolSpec {name, description,
//     inputSchema.json}; tool_choice auto/required/tool → toolChoice
//     auto/any/tool; none → no toolChoice, and no toolConfig unless the
//     conversation already holds tool blocks (Converse has no "none").
//   - assistant tool calls → {toolUse}; tool results → {toolResult} in a
//     user turn, status "error" for a failed run.
//   - reasoning: Bedrock's own reasoningContent (text + signature, or
//     redactedContent) round-trips; another vendor's signed thinking is
//     dropped. A reasoning request reaches Claude models as
//     additionalModelRequestFields.thinking (a token budget); other models
//     get none.
//   - max_tokens, temperature, top_p, stop → inferenceConfig; top_k →
//     additionalModelRequestFields.top_k for Claude models.
//   - cache_control on a part → a cachePoint block after it.
//   - usage: inputTokens + cacheReadInputTokens + cacheWriteInputTokens is
//     the prompt (Bedrock counts cached tokens apart); outputTokens the
//     completion.
//   - stopReason → finish_reason: end_turn, stop_sequence → stop;
//     max_tokens, model_context_window_exceeded → length; tool_use →
//     tool_calls; guardrail_intervened, content_filtered → content_filter.
//
// Refused with a 400: n > 1, response_format json_object/json_schema
// (Converse has no such switch), http(s) image URLs, file ids.
package bedrock
