// Unit tests of the "Ask the book" core, run by node's built-in test runner
// (tests/assistant/test_core.py runs `node --test` on this file).
const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");
const core = require(path.join(__dirname, "../../src/bookkit/static/bookkit-assistant-core.js"));

const passages = [
  { p: "Checkpointing", u: "core-design/data-management/checkpointing.html", a: "resume", h: "Resume a run",
    t: "Set checkpointing.enabled and point checkpoint_dir at the folder; training resumes from the latest checkpoint." },
  { p: "LoRA", u: "guides/training-optimization/lora.html", a: "", h: "LoRA",
    t: "Low-rank adapters train a small number of parameters while the base weights stay frozen." },
  { p: "GRPO", u: "guides/training-algorithms/grpo.html", a: "group-size", h: "Group size",
    t: "num_generations_per_prompt responses are sampled for every prompt; advantages compare them within the group." },
  { p: "Installation", u: "get-started/installation.html", a: "", h: "Installation",
    t: "Install NeMo RL with uv sync and check the GPU driver." },
];
const index = core.buildIndex(passages);

test("tokenize splits identifiers, drops stop words and stems plurals", () => {
  assert.deepEqual(core.tokenize("How do I set num_generations_per_prompt?"),
    ["set", "num_generations_per_prompt", "num", "generation", "per", "prompt"]);
  assert.deepEqual(core.tokenize("ClippedPGLossFn"), ["clippedpglossfn", "clipped", "pg", "loss", "fn"]);
  assert.deepEqual(core.tokenize("grpo.max_num_steps"), ["grpo.max_num_steps", "grpo", "max", "num", "step"]);
});

test("BM25 ranks the passage that answers the question first", () => {
  const hits = core.search(index, "how do I resume training from a checkpoint");
  assert.equal(hits[0].passage.a, "resume");
  assert.ok(hits[0].score > (hits[1] ? hits[1].score : 0));
  assert.equal(core.search(index, "num_generations_per_prompt")[0].passage.p, "GRPO");
});

test("answers cite page title and heading anchor", () => {
  const result = core.answer(index, "resume from checkpoint");
  assert.ok(result.ok);
  assert.deepEqual(core.citation(result.passages[0].passage),
    { title: "Checkpointing", heading: "Resume a run", url: "core-design/data-management/checkpointing.html#resume" });
});

test("a question the book does not cover gets no answer", () => {
  assert.equal(core.answer(index, "recipe for banana bread with walnuts").ok, false);
  assert.equal(core.answer(index, "").ok, false);
  assert.equal(core.answer(core.buildIndex([]), "lora").ok, false);
});

test("hostile Markdown renders without script, iframe, handlers or javascript: URLs", () => {
  const hostile = [
    "Hello <script>alert(1)</script> **bold**",
    '<iframe src="https://evil.example"></iframe>',
    '<img src=x onerror="alert(1)"> <a href="#" onclick="steal()">x</a>',
    "[click](javascript:alert(1)) [tab](java\tscript:alert(2)) [ent](&#106;avascript:alert(3))",
    "[data](data:text/html;base64,PHNjcmlwdD4=) [ok](https://example.org/a?b=1&c=2) [rel](guides/x.html#y)",
    "```html\n<script>alert(4)</script>\n```",
    "`<b onmouseover=alert(5)>`",
  ].join("\n\n");
  const html = core.renderMarkdown(hostile);
  assert.doesNotMatch(html, /<(script|iframe|img|object|embed|svg|style)/i);
  assert.doesNotMatch(html, /<[a-z][^>]*\son\w+\s*=/i);  // no event-handler attribute on any tag
  assert.doesNotMatch(html, /href="[^"]*(javascript|data):/i);
  const tags = html.match(/<[a-z][^>]*>/gi);
  assert.ok(tags.every((t) => /^<(p|strong|em|code|pre|a href="[^"]*" rel="noopener noreferrer"|ul|ol|li|h\d)( class="language-\w+")?>$/.test(t)), tags.join(" "));
  assert.match(html, /<strong>bold<\/strong>/);
  assert.match(html, /<a href="https:\/\/example.org\/a\?b=1&amp;c=2" rel="noopener noreferrer">ok<\/a>/);
  assert.match(html, /<a href="guides\/x.html#y"/);
  assert.match(html, /<pre><code class="language-html">&lt;script&gt;alert\(4\)&lt;\/script&gt;<\/code><\/pre>/);
});

test("Markdown lists, headings and code render", () => {
  const html = core.renderMarkdown("## Steps\n\n1. Install `uv`\n2. Run it\n\n- a\n- b *c*");
  assert.match(html, /<h4>Steps<\/h4>/);
  assert.match(html, /<ol><li>Install <code>uv<\/code><\/li><li>Run it<\/li><\/ol>/);
  assert.match(html, /<ul><li>a<\/li><li>b <em>c<\/em><\/li><\/ul>/);
});

test("messages for an endpoint carry the question and every retrieved passage", () => {
  const hits = core.search(index, "resume training checkpoint or train adapters", 2);
  const messages = core.buildMessages("How do I resume?", hits);
  assert.equal(messages.length, 2);
  assert.equal(messages[1].content, "How do I resume?");
  assert.match(messages[0].content, /\[1\] Checkpointing — Resume a run/);
  assert.match(messages[0].content, /\[2\] /);
});
