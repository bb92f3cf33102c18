// The Vercel AI SDK's default OpenAI model (the Responses API) against the
// gateway. internal/e2e/vercel_test.go runs it once per upstream format and
// reads one JSON line per case from stdout:
//
//   {"case":"text", ...what the SDK returned..., "calls":["POST http://…/v1/responses"]}
//   {"case":"tool", "error":{...}, "calls":[…]}   when the SDK threw
//
// Env: SWITCHYARD_BASE_URL (…/v1), SWITCHYARD_KEY, SWITCHYARD_MODEL, and
// optionally SWITCHYARD_CASES (comma-separated names; default all).
import { createOpenAI } from "@ai-sdk/openai";
import { generateObject, generateText, Output, stepCountIs, streamText, tool } from "ai";
import { z } from "zod";

const env = (name) => {
  const v = process.env[name];
  if (!v) {
    console.error(`${name} is not set`);
    process.exit(2);
  }
  return v;
};

// calls is what the SDK sent during the current case ("POST <url>"), so
// the Go side can check that it spoke the Responses API.
let calls = [];
const fetchRecorded = (url, init) => {
  calls.push(`${init?.method ?? "GET"} ${url}`);
  return fetch(url, init);
};

const openai = createOpenAI({ baseURL: env("SWITCHYARD_BASE_URL"), apiKey: env("SWITCHYARD_KEY"), fetch: fetchRecorded });
const model = openai(env("SWITCHYARD_MODEL"));
// One attempt per call: the Go side counts the upstream's requests.
const common = { model, maxRetries: 0 };

const weather = tool({
  description: "The current weather in a city.",
  inputSchema: z.object({ city: z.string() }),
  execute: async ({ city }) => `sunny, 21C in ${city}`,
});

const person = z.object({ name: z.string(), age: z.number().int() });

// steps keeps what the Go side asserts of each step of a multi-step call.
const steps = (r) =>
  r.steps.map((s) => ({
    finishReason: s.finishReason,
    text: s.text,
    toolCalls: s.toolCalls.map((c) => ({ id: c.toolCallId, name: c.toolName, input: c.input })),
    toolResults: s.toolResults.map((c) => ({ id: c.toolCallId, name: c.toolName, output: c.output })),
    responseId: s.response.id,
  }));

const cases = {
  // generateText, plain.
  async text() {
    const r = await generateText({ ...common, system: "Be brief.", prompt: "Say hello" });
    return { text: r.text, finishReason: r.finishReason, usage: r.usage, responseId: r.response.id };
  },

  // generateText with a tool: the model calls it, the SDK runs it and
  // sends its result back in a second request, which the model answers.
  async tool() {
    const r = await generateText({
      ...common,
      prompt: "What is the weather in Paris?",
      tools: { get_weather: weather },
      stopWhen: stepCountIs(3),
    });
    return { text: r.text, finishReason: r.finishReason, usage: r.totalUsage, steps: steps(r) };
  },

  // generateText with Output.object: JSON schema output, parsed by the SDK.
  async output() {
    const r = await generateText({ ...common, prompt: "Invent a person.", output: Output.object({ schema: person }) });
    return { object: r.output, finishReason: r.finishReason, usage: r.usage, responseId: r.response.id };
  },

  // generateObject: the same through the older helper.
  async object() {
    const r = await generateObject({ ...common, prompt: "Invent a person.", schema: person, schemaName: "person" });
    return { object: r.object, finishReason: r.finishReason, usage: r.usage, responseId: r.response.id };
  },

  // streamText: text deltas, then the finish with usage.
  async stream() {
    const r = streamText({ ...common, prompt: "Count to three" });
    const deltas = [];
    for await (const d of r.textStream) deltas.push(d);
    const [text, finishReason, usage, response] = await Promise.all([r.text, r.finishReason, r.usage, r.response]);
    return { deltas, text, finishReason, usage, responseId: response.id };
  },

  // streamText with a tool: the tool loop over streamed steps.
  async stream_tool() {
    const r = streamText({
      ...common,
      prompt: "What is the weather in Paris?",
      tools: { get_weather: weather },
      stopWhen: stepCountIs(3),
    });
    const parts = {};
    for await (const p of r.fullStream) parts[p.type] = (parts[p.type] ?? 0) + 1;
    const [text, finishReason, usage, all] = await Promise.all([r.text, r.finishReason, r.totalUsage, r.steps]);
    return { parts, text, finishReason, usage, steps: steps({ steps: all }) };
  },

  // A multi-turn messages array, and a conversation continued the way chat
  // apps do it: the first answer's response.messages sent back with the
  // next user message.
  async multiturn() {
    const first = await generateText({
      ...common,
      allowSystemInMessages: true, // a system turn in the array is the point here
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "My name is Ada." },
        { role: "assistant", content: "Hello Ada." },
        { role: "user", content: "What is my name?" },
      ],
    });
    const second = await generateText({
      ...common,
      messages: [
        { role: "user", content: "What is my name?" },
        ...first.response.messages,
        { role: "user", content: "And again?" },
      ],
    });
    return { first: first.text, second: second.text, responseIds: [first.response.id, second.response.id] };
  },
};

// errorJSON keeps what tells a gateway defect apart: the HTTP exchange of
// an APICallError (status, the request the SDK sent, the body answered).
const errorJSON = (e) => ({
  name: e?.name,
  message: String(e?.message ?? e),
  statusCode: e?.statusCode,
  url: e?.url,
  requestBodyValues: e?.requestBodyValues,
  responseBody: e?.responseBody,
  cause: e?.cause ? String(e.cause?.message ?? e.cause) : undefined,
});

const want = process.env.SWITCHYARD_CASES ? process.env.SWITCHYARD_CASES.split(",") : Object.keys(cases);
for (const name of want) {
  if (!cases[name]) {
    console.error(`unknown case ${name}`);
    process.exit(2);
  }
  let line;
  calls = [];
  try {
    line = { case: name, ...(await cases[name]()) };
  } catch (e) {
    line = { case: name, error: errorJSON(e) };
  }
  line.calls = calls;
  console.log(JSON.stringify(line));
}
