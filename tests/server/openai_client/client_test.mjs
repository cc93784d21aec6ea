// The official OpenAI client (npm "openai") against a running `hearth serve`: models,
// completions and chat, whole and streamed, errors as the client's own error classes.
// Usage: node client_test.mjs BASE_URL API_KEY MODEL_ID
import OpenAI from "openai";
import assert from "node:assert/strict";

const [baseURL, apiKey, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 60000 });
let passed = 0;
async function check(name, body) {
  await body();
  passed += 1;
  console.log(`ok ${passed} ${name}`);
}

await check("models.list names the served model", async () => {
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), [model]);
});

let whole;
await check("completions.create", async () => {
  whole = await client.completions.create({
    model, prompt: "Once upon a time", max_tokens: 24, temperature: 0,
  });
  assert.equal(whole.object, "text_completion");
  assert.equal(whole.choices.length, 1);
  assert.ok(whole.choices[0].text.length > 0);
  assert.equal(whole.choices[0].finish_reason, "length");
  assert.equal(whole.usage.completion_tokens, 24);
  assert.ok(whole.usage.prompt_tokens > 0);
});

await check("completions.create streamed gives the same text", async () => {
  const stream = await client.completions.create({
    model, prompt: "Once upon a time", max_tokens: 24, temperature: 0, stream: true,
    stream_options: { include_usage: true },
  });
  let text = "";
  let usage = null;
  let finish = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      text += choice.text;
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  }
  assert.equal(text, whole.choices[0].text);
  assert.equal(finish, "length");
  assert.equal(usage.completion_tokens, 24);
});

const messages = [
  { role: "system", content: "You tell short stories." },
  { role: "user", content: "Tell me about a dog." },
];
let reply;
await check("chat.completions.create", async () => {
  const chat = await client.chat.completions.create({
    model, messages, max_tokens: 20, temperature: 0,
  });
  assert.equal(chat.object, "chat.completion");
  reply = chat.choices[0].message;
  assert.equal(reply.role, "assistant");
  assert.ok(reply.content.length > 0);
  assert.ok(["stop", "length"].includes(chat.choices[0].finish_reason));
});

await check("chat.completions.create streamed gives the same reply", async () => {
  const stream = await client.chat.completions.create({
    model, messages, max_tokens: 20, temperature: 0, stream: true,
  });
  let content = "";
  let role = null;
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta ?? {};
    if (delta.role) role = delta.role;
    if (delta.content) content += delta.content;
  }
  assert.equal(role, "assistant");
  assert.equal(content, reply.content);
});

await check("logprobs in both shapes", async () => {
  const completion = await client.completions.create({
    model, prompt: "Once upon a time", max_tokens: 6, temperature: 0, logprobs: 2,
  });
  const lp = completion.choices[0].logprobs;
  assert.equal(lp.tokens.length, 6);
  assert.equal(lp.tokens.join(""), completion.choices[0].text);
  assert.ok(lp.token_logprobs.every((x) => x <= 0));
  assert.ok(lp.top_logprobs.every((top) => Object.keys(top).length <= 2));
  const chat = await client.chat.completions.create({
    model, messages, max_tokens: 6, temperature: 0, logprobs: true, top_logprobs: 2,
  });
  const content = chat.choices[0].logprobs.content;
  assert.equal(content.length, chat.usage.completion_tokens);
  assert.equal(content.map((t) => t.token).join(""), chat.choices[0].message.content);
  assert.ok(content.every((t) => t.top_logprobs.length === 2 && t.top_logprobs[0].token === t.token));
  const stream = await client.completions.create({
    model, prompt: "Once upon a time", max_tokens: 6, temperature: 0, logprobs: 2, stream: true,
  });
  const streamed = [];
  for await (const chunk of stream) streamed.push(...(chunk.choices[0]?.logprobs?.tokens ?? []));
  assert.deepEqual(streamed, lp.tokens);
});

await check("n choices with a seed", async () => {
  const a = await client.completions.create({
    model, prompt: "The dog", max_tokens: 8, n: 3, seed: 11, temperature: 1,
  });
  const b = await client.completions.create({
    model, prompt: "The dog", max_tokens: 8, n: 3, seed: 11, temperature: 1,
  });
  assert.equal(a.choices.length, 3);
  assert.deepEqual(a.choices.map((c) => c.text), b.choices.map((c) => c.text));
});

await check("an unknown model is the client's NotFoundError", async () => {
  await assert.rejects(
    client.completions.create({ model: "no-such-model", prompt: "x" }),
    (e) => e instanceof OpenAI.NotFoundError && /no-such-model/.test(e.message),
  );
});

await check("a bad field is the client's BadRequestError naming it", async () => {
  await assert.rejects(
    client.completions.create({ model, prompt: "x", max_tokens: -5 }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === "max_tokens",
  );
});

await check("a wrong key is the client's AuthenticationError", async () => {
  const wrong = new OpenAI({ baseURL, apiKey: apiKey + "x", maxRetries: 0 });
  await assert.rejects(wrong.models.list(), (e) => e instanceof OpenAI.AuthenticationError);
});

console.log(`all ${passed} checks passed`);
