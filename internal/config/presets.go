package config

// Preset is an OpenAI-compatible service known by name: a provider with
// `preset: NAME` takes type openai, the base URL and the quirk handling
// from here, so one line configures it (docs/configuration.md#presets).
//
// This table is the one place that knows a service's peculiarities. The
// relay never asks which service it talks to: the provider applies the
// request adjustments below to every body it sends and lifts usage from
// where the service puts it (package provider).
type Preset struct {
	Name string
	// BaseURL is the service's default endpoint (base_url overrides it).
	BaseURL string
	// Env is the prefix of the variables that create the provider without
	// a file (Env_API_KEY, Env_BASE_URL); empty for local servers.
	Env string
	// Patterns are catalogue entries routed to the provider when nothing
	// else routes to it (as for an environment provider). Empty for
	// services that host other makers' models under their own names: reach
	// them as NAME/MODEL or with a catalogue route.
	Patterns []string
	// KeyOptional: a local server that needs no key.
	KeyOptional bool
	// Drop are top-level request fields the service refuses (or that make
	// it fail): removed before sending.
	Drop []string
	// DropInMessages are fields of a chat message (messages[].NAME) the
	// service refuses: removed from every message before sending.
	DropInMessages []string
	// Rename are top-level request fields the service spells differently:
	// OpenAI's name → the service's (a field already spelt the service's
	// way wins).
	Rename map[string]string
	// UsageAt are the places, besides the top-level "usage", where the
	// service's stream chunks carry usage (gjson paths such as
	// "x_groq.usage", "choices.0.usage"); it is moved to the top level.
	UsageAt []string
	// Quirks says what else differs (docs/configuration.md#presets repeats it).
	Quirks string
	// Source is the service's own page the base URL or the quirks were
	// checked against (docs/configuration.md#presets says which); empty:
	// not checked against the service's documentation.
	Source string
}

// Presets are the built-in presets, in the order their environment
// providers join the catalogue (before openrouter's catch-all).
var Presets = []Preset{
	{Name: "deepseek", BaseURL: "https://api.deepseek.com/v1", Env: "DEEPSEEK",
		Patterns: []string{"deepseek-*"},
		Quirks:   "thinking mode (deepseek-reasoner, or thinking: {type: enabled} and reasoning_effort, which pass through) streams delta.reasoning_content (relayed, and translated to thinking blocks for Anthropic/Gemini clients); on tool-call turns DeepSeek wants the assistant's reasoning_content back (a 400 otherwise): an OpenAI client's messages go as sent, an Anthropic/Gemini client's thinking goes as reasoning_content; logprobs are refused in thinking mode; usage arrives on the last chunk",
		Source:   "https://api-docs.deepseek.com/guides/thinking_mode"},
	{Name: "moonshot", BaseURL: "https://api.moonshot.ai/v1", Env: "MOONSHOT",
		Patterns: []string{"moonshot-*", "kimi-*"},
		UsageAt:  []string{"choices.0.usage"},
		Quirks:   "stream usage is inside the last chunk's choices[0].usage (moved to the top level); assistant prefill with partial: true passes through; mainland China accounts use base_url https://api.moonshot.cn/v1"},
	{Name: "zhipu", BaseURL: "https://open.bigmodel.cn/api/paas/v4", Env: "ZHIPUAI",
		Patterns: []string{"glm-*"},
		Quirks:   "thinking: {type: enabled|disabled} passes through; reasoning arrives in reasoning_content; international accounts (Z.ai) use base_url https://api.z.ai/api/paas/v4",
		Source:   "https://docs.bigmodel.cn/api-reference"},
	{Name: "ark", BaseURL: "https://ark.cn-beijing.volces.com/api/v3", Env: "ARK",
		Patterns: []string{"doubao-*", "ep-*"},
		Quirks:   "the model is a model id (doubao-…) or an inference endpoint id (ep-…); thinking: {type: enabled|disabled|auto} passes through; reasoning arrives in reasoning_content"},
	{Name: "dashscope", BaseURL: "https://dashscope.aliyuncs.com/compatible-mode/v1", Env: "DASHSCOPE",
		Patterns: []string{"qwen*", "qwq-*"},
		Quirks:   "compatible mode; enable_thinking and thinking_budget pass through (Qwen3 open models think only when streamed: send enable_thinking: false without stream); usage comes in a last chunk with empty choices; international accounts use base_url https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
		Source:   "https://www.alibabacloud.com/help/en/model-studio/deep-thinking"},
	{Name: "mistral", BaseURL: "https://api.mistral.ai/v1", Env: "MISTRAL",
		Patterns: []string{"mistral-*", "open-mistral-*", "codestral-*", "magistral-*", "ministral-*", "pixtral-*", "devstral-*"},
		// Mistral refuses any field it does not define (422 extra_forbidden),
		// stream_options included, which the gateway sets on every stream;
		// its streams carry usage on the last chunk without being asked.
		Drop:   []string{"stream_options", "user", "logprobs", "top_logprobs", "logit_bias", "service_tier", "store"},
		Rename: map[string]string{"seed": "random_seed", "max_completion_tokens": "max_tokens"},
		Quirks: "refuses fields it does not define with a 422: stream_options (usage comes on the last chunk unasked), user, logprobs, top_logprobs, logit_bias, service_tier and store are removed; seed is sent as random_seed and max_completion_tokens as max_tokens",
		Source: "https://github.com/mistralai/client-python/blob/main/docs/models/chatcompletionstreamrequest.md"},
	{Name: "groq", BaseURL: "https://api.groq.com/openai/v1", Env: "GROQ",
		Drop:           []string{"logprobs", "top_logprobs", "logit_bias"},
		DropInMessages: []string{"name"},
		UsageAt:        []string{"x_groq.usage"},
		Quirks:         "logprobs, top_logprobs, logit_bias and messages[].name are refused with a 400, so they are removed; n must be 1; stream usage in x_groq.usage is moved to the top level; hosts other makers' models: reach them as groq/MODEL or route them",
		Source:         "https://console.groq.com/docs/openai"},
	{Name: "xai", BaseURL: "https://api.x.ai/v1", Env: "XAI",
		Patterns: []string{"grok-*"},
		Quirks:   "reasoning models refuse presence_penalty, frequency_penalty and stop, and most refuse reasoning_effort: xAI's error is returned to the client",
		Source:   "https://docs.x.ai/docs/guides/reasoning"},
	{Name: "together", BaseURL: "https://api.together.ai/v1", Env: "TOGETHER",
		Quirks: "model ids are ORG/MODEL (meta-llama/Llama-3.3-70B-Instruct-Turbo): reach them as together/ORG/MODEL or route them",
		Source: "https://docs.together.ai/docs/inference/openai-compatibility"},
	{Name: "fireworks", BaseURL: "https://api.fireworks.ai/inference/v1", Env: "FIREWORKS",
		Patterns: []string{"accounts/fireworks/models/*"},
		Quirks:   "model ids are accounts/fireworks/models/NAME"},
	{Name: "openrouter", BaseURL: "https://openrouter.ai/api/v1", Env: "OPENROUTER",
		Patterns: []string{"*"},
		Quirks:   "reasoning arrives in reasoning (relayed, and translated like reasoning_content); a request's models and provider fields are the gateway's own routing and are not forwarded; set headers HTTP-Referer and X-Title to attribute your app",
		Source:   "https://openrouter.ai/docs/community/lang-chain"},
	{Name: "ollama", BaseURL: "http://localhost:11434/v1", KeyOptional: true,
		Quirks: "no key; reasoning models stream their thinking in reasoning; reach models as ollama/MODEL or route them",
		Source: "https://github.com/ollama/ollama/blob/main/docs/openai.md"},
	{Name: "vllm", BaseURL: "http://localhost:8000/v1", KeyOptional: true,
		Quirks: "key only if the server was started with --api-key; reasoning parsers emit reasoning_content",
		Source: "https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html"},
	{Name: "lmstudio", BaseURL: "http://localhost:1234/v1", KeyOptional: true,
		Quirks: "no key; reach models as lmstudio/MODEL or route them",
		Source: "https://lmstudio.ai/docs/api/openai-api"},
}

// LookupPreset returns the preset called name.
func LookupPreset(name string) (*Preset, bool) {
	for i := range Presets {
		if Presets[i].Name == name {
			return &Presets[i], true
		}
	}
	return nil, false
}

// PresetNames lists the presets' names, in table order.
func PresetNames() []string {
	out := make([]string, len(Presets))
	for i, p := range Presets {
		out[i] = p.Name
	}
	return out
}

// applyPreset fills what a provider with a preset leaves out: type openai
// and the preset's base URL. An unknown preset is left for Validate.
func (p *Provider) applyPreset() {
	pr, ok := LookupPreset(p.Preset)
	if !ok {
		return
	}
	if p.Type == "" {
		p.Type = "openai"
	}
	if p.BaseURL == "" && p.Type == "openai" {
		p.BaseURL = pr.BaseURL
	}
}

// presetsToRoute are the preset providers from the file that nothing in
// the catalogue routes to: they get their preset's default patterns.
// It returns their indices, which stay valid as providers are appended.
func (c *Config) presetsToRoute() []int {
	var out []int
	for i := range c.Providers {
		p := &c.Providers[i]
		if _, ok := LookupPreset(p.Preset); ok && !p.FromEnv && !c.routesTo(p.Name) {
			out = append(out, i)
		}
	}
	return out
}

// addPresetPatterns adds the default patterns of ps: the specific ones, or
// (catchAll) only "*", which joins after every environment provider's.
func (c *Config) addPresetPatterns(ps []int, catchAll bool) {
	for _, i := range ps {
		p := &c.Providers[i]
		pr, _ := LookupPreset(p.Preset)
		for _, id := range pr.Patterns {
			if (id == "*") == catchAll {
				c.addPattern(id, p.Name)
			}
		}
	}
}
