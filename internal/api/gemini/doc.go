// Package gemini translates Google's Gemini generateContent wire format to
// and from the gateway's canonical llm types. It plays both roles: the
// upstream role (EncodeRequest, DecodeResponse, StreamDecoder, DecodeError)
// when the gateway calls a Gemini endpoint, and the ingress role
// (DecodeRequest, EncodeResponse, StreamEncoder, EncodeError) when a Gemini
// SDK client calls the gateway on /v1beta/models/{model}:generateContent.
//
// Translation is pure: no I/O, clock, random IDs or logger.
//
// Decisions worth knowing (the Gemini API reference is
// https://ai.google.dev/api/generate-content):
//
//   - Gemini gives function calls no ID (newer models may send
//     functionCall.id, which is used when present). DecodeResponse and
//     StreamDecoder synthesize "call_N", N being the call's index in the
//     answer, so the IDs are deterministic. DecodeRequest numbers calls
//     across the whole conversation ("call_0", "call_1", …) and gives each
//     functionResponse the ID of the earliest unanswered functionCall of
//     the same name. EncodeRequest sends no IDs upstream.
//   - A tool result becomes functionResponse.response: the tool's output
//     when it is a JSON object, else {"content": text} ({"error": text}
//     for a failed run). DecodeRequest inverts this.
//   - Reasoning → thinkingConfig: BudgetTokens is sent as thinkingBudget;
//     Effort minimal/low/medium/high → 128/1024/8192/24576 tokens (xhigh
//     and max as high); Disabled → thinkingBudget 0; Adaptive without an
//     effort leaves the budget to the model. includeThoughts is true
//     unless disabled.
//   - A thoughtSignature is Gemini's alone: decoding marks it with
//     SignatureVendor "gemini", and encoding (requests, responses, streams)
//     sends only Gemini's. Another vendor's thinking keeps its text as a
//     thought part without a signature; redacted thinking is dropped.
//   - Tool and response schemas are cut down to the OpenAPI subset Gemini
//     accepts (see schema.go); unsupported keywords are dropped, never
//     rejected.
//   - Tool results without ToolName (OpenAI clients send only the call ID)
//     take the name of the assistant tool call with that ID.
//   - Consecutive turns of one role are merged into one content; RoleSystem
//     messages anywhere join systemInstruction. Empty text parts are not
//     sent (Gemini rejects them).
//   - Tool-call arguments that are not a JSON object (a model's broken
//     JSON) are sent as {"arguments": "<text>"} rather than refused.
//   - ToolChoice: auto → AUTO, none → NONE, required → ANY, tool → ANY with
//     allowedFunctionNames [name]; on ingress an allow-list of more than
//     one name becomes "required". DisableParallel has no Gemini form.
//   - Only candidate 0 is read; Gemini's built-in tools (googleSearch,
//     codeExecution…) pass through as llm.Tool.Raw with RawDialect
//     "gemini", and only to a Gemini upstream.
//   - DecodeRequest accepts snake_case field names as Google's REST
//     endpoints do (see keys.go).
//   - The stream encoder holds the finish reason until usage arrives, so the
//     last chunk carries finishReason and usageMetadata and no content; the
//     stream decoder reports usage once, from the chunk with finishReason.
//   - The SSE encoder ends each event with "\r\n\r\n", as Google's servers
//     do; both line endings are valid SSE.
package gemini
