// Package responses serves clients of OpenAI's Responses API
// (POST /v1/responses: the OpenAI SDKs' responses.create, the Vercel AI
// SDK's default OpenAI model, Codex, the Agents SDK) from any upstream: it
// turns a Responses request into the canonical llm.Request and the
// canonical answer back into a Response object or its SSE event sequence.
// It also speaks Responses to an upstream that does (the reverse
// direction); a Responses client reaching such an upstream is passed
// through as bytes by the relay and never comes here.
//
//   - ScanRequest: the cheap top-level read before routing (model, stream,
//     max_output_tokens, store, user).
//   - DecodeRequest: the whole body to llm.Request, and the fields the
//     canonical form has no place for in Extra (echoed in the Response).
//   - EncodeResponse, StreamEncoder, EncodeError, KeepAlive: the answers.
//   - Upstream: EncodeRequest (llm.Request to a request body, always with
//     store false), DecodeResponse, StreamDecoder and DecodeError (its
//     answers, events and errors back to the canonical form). Reasoning
//     crosses turns as encrypted_content, a thinking signature with
//     SignatureVendor "openai" that is sent back only to this format.
//     Their decisions are in the functions' comments and
//     docs/translation.md.
//
// Translation is pure: no I/O, clock, random ids or logging. created_at
// and the response id come from the caller; output item ids are derived
// from the response id and the item's position (msg_<id>_<n>, rs_…, fc_…).
//
// # Mappings and decisions
//
// Input: a string is one user message. Message items (with or without
// "type":"message") map by role; system and developer messages before the
// first turn join the system prompt after "instructions", later ones stay
// in place as system messages (as the chat codec does). Text parts
// (input_text, output_text, and refusal for the assistant) become text;
// input_image (URL or base64 data URL) an image; input_file (file_data,
// bare or as a data URL, or file_url) a document. file_id is refused with
// a 400 naming it: files live in OpenAI's Files API, which the gateway
// does not have. Empty text parts are dropped (Anthropic refuses them).
//
// One assistant turn is several items in Responses (reasoning, message,
// function_call…) and one message in the canonical form: consecutive
// assistant-side items join one assistant message. function_call → a tool
// call (call_id is its id); function_call_output → a tool message, its
// ToolName taken from the call. A reasoning item's summary (else its
// content) becomes a thinking part, and its encrypted_content the part's
// Signature: EncodeResponse puts a thinking part's signature (Anthropic's
// thinking signature, Gemini's thought signature) there, so a client that
// sends the items back, as the SDKs do with store false, continues the
// conversation with its reasoning intact. Redacted thinking is not
// rendered (it has no summary).
//
// Refused with a 400 that names the field: built-in and custom tools
// (web_search, file_search, computer_use_preview, code_interpreter,
// image_generation, mcp, custom…) in tools, tool_choice or as history items
// (they work only through an upstream that speaks Responses, by
// passthrough); conversation and background; item references
// ({"type":"item_reference","id":…}, or {"id":…} with no type) left in the
// input, which the relay replaces beforehand with the output items of the
// account's stored responses (ItemReferences, ItemResponseID, OutputItem,
// ReplaceItemReferences) when it has a response store; prompt (stored
// prompt templates). ScanRequest refuses previous_response_id,
// conversation and background too, so that the passthrough path does: an
// id held by an upstream belongs to the gateway's account there, not the
// client's.
//
// Kept: tools of type function (strict only when sent true), tool_choice
// (auto/none/required/{type:function,name}; allowed_tools keeps its mode and
// every tool), parallel_tool_calls false → DisableParallel, text.format
// (json_schema with name, schema, strict; json_object; text is the
// default), reasoning.effort (none → Disabled), max_output_tokens,
// temperature, top_p, user (else safety_identifier), stream. metadata,
// store, reasoning.summary and the rest are echoed, not sent upstream;
// include, truncation, service_tier, prompt_cache_key and unknown fields
// are ignored.
//
// Answers: finish stop/tool_calls → status completed; length → incomplete
// with incomplete_details.reason max_output_tokens (the message item's
// status is incomplete too); content_filter → incomplete, reason
// content_filter; error → failed. Usage: input_tokens (including cached,
// as OpenAI counts them), input_tokens_details.cached_tokens and
// cache_write_tokens, output_tokens, output_tokens_details.reasoning_tokens,
// total_tokens, and usage.cost from Options.Cost as on chat.
//
// Streams (StreamEncoder): a stream that fails sends an "error" event
// (code server_error, or rate_limit_exceeded for a 429) and then
// response.failed with the error in response.error; items cut short are
// "incomplete" in it. openai-go's stream reader stops with an error on any
// event whose data has a top-level "error" key, so neither event has one:
// the SDK hands both to the caller as events.
package responses
