// Package tokens estimates token counts when an upstream reports none: a
// stream cut before its usage chunk, or a provider that never reports usage.
// The gateway still bills such a request, from these estimates, and marks the
// usage as estimated.
//
// Counting uses OpenAI's BPE encodings (tiktoken), embedded in the binary, so
// it works offline: nothing is downloaded at run time. Models whose name
// starts with gpt-4o, gpt-4.1, gpt-5, o1, o3, o4 or chatgpt-4o (after any
// "provider/" or "provider:" prefix) use o200k_base; every other model uses
// cl100k_base. For models not made by OpenAI (Claude, Gemini, Llama, Mistral…)
// that is an approximation: their tokenizers differ, and counts may be off by
// tens of percent, most for non-English text and code.
//
// The request estimates (ChatPrompt, Prompt) follow OpenAI's documented
// counting rule for chat messages; see ChatPrompt for what is counted and
// what is approximated.
//
// If an encoding cannot be loaded (it is embedded, so this should not
// happen), counts fall back to one token per four bytes and Err reports why.
package tokens
