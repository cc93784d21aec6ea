// A load client for `hearth serve` (Node.js 18+, no packages): C clients, each sending one
// streamed completion after another (a short prompt of its own, N new tokens, greedy, end of
// text ignored so every request makes N tokens) for D seconds. Prints one JSON object:
// requests, failures, generated tokens, aggregate generated tok/s (all clients' tokens ÷ the
// run's wall time) and time to first token p50/p95 in seconds.
// usage: node server_load.mjs BASE_URL CLIENTS SECONDS [TOKENS] [MODEL]
const [base, clientsText, secondsText, tokensText = "64", model = ""] = process.argv.slice(2);
const clients = Number(clientsText), seconds = Number(secondsText), tokens = Number(tokensText);
const words = ["Once", "The dog", "A little girl", "Tom and Sam", "In the park", "One day",
               "The big tree", "Lily saw"];

const ttfts = [];
let requests = 0, failures = 0, generated = 0;
const failureReasons = new Map();
const fail = (why) => {
  failures += 1;
  failureReasons.set(why, (failureReasons.get(why) ?? 0) + 1);
};

async function one(client, serial) {
  const body = { prompt: `${words[(client + serial) % words.length]} ${client}`,
                 max_tokens: tokens, temperature: 0, ignore_eos: true, stream: true,
                 stream_options: { include_usage: true } };
  if (model) body.model = model;
  const start = performance.now();
  let response;
  try {
    response = await fetch(`${base}/v1/completions`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
  } catch (e) {
    return fail(`connect: ${e.cause?.code ?? e.message}`);
  }
  if (response.status !== 200) return fail(`HTTP ${response.status}`);
  const decoder = new TextDecoder();
  let pending = "", first = null, usage = null, done = false;
  try {
    for await (const bytes of response.body) {
      pending += decoder.decode(bytes, { stream: true });
      let end;
      while ((end = pending.indexOf("\n\n")) >= 0) {
        const event = pending.slice(0, end);
        pending = pending.slice(end + 2);
        if (!event.startsWith("data: ")) continue;
        const data = event.slice(6);
        if (data === "[DONE]") { done = true; continue; }
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message);
        if (chunk.usage) usage = chunk.usage;
        if (first === null && chunk.choices?.[0]?.text) first = performance.now();
      }
    }
  } catch (e) {
    return fail(`stream: ${e.message}`);
  }
  if (!done || !usage || usage.completion_tokens !== tokens) return fail("incomplete stream");
  requests += 1;
  generated += usage.completion_tokens;
  ttfts.push((first - start) / 1000);
}

const started = performance.now();
const deadline = started + seconds * 1000;
await Promise.all(Array.from({ length: clients }, async (_, client) => {
  for (let serial = 0; performance.now() < deadline; ++serial) await one(client, serial);
}));
const wall = (performance.now() - started) / 1000;
ttfts.sort((a, b) => a - b);
const quantile = (q) => ttfts.length ? ttfts[Math.min(ttfts.length - 1, Math.floor(q * ttfts.length))] : null;
console.log(JSON.stringify({
  clients, seconds: wall, requests, failures, failure_reasons: Object.fromEntries(failureReasons),
  generated_tokens: generated, aggregate_tok_s: generated / wall,
  ttft_p50_s: quantile(0.5), ttft_p95_s: quantile(0.95),
}));
