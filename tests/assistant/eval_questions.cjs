// Offline "Ask the book" over a built site's passages: prints one JSON line per question with
// the pages cited (top three), using exactly the panel's core. Usage:
//   node tests/assistant/eval_questions.cjs <html>/_bookkit/assistant-corpus.json questions.json
const fs = require("node:fs");
const path = require("node:path");
const core = require(path.join(__dirname, "../../src/bookkit/static/bookkit-assistant-core.js"));
const corpus = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const questions = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
const index = core.buildIndex(corpus.passages);
for (const q of questions) {
  const result = core.answer(index, q.question);
  const cited = result.passages.map((h) => h.passage.u.replace(/\.html$/, "").replace(/\/$/, "/index"));
  console.log(JSON.stringify({ ...q, ok: result.ok, cited }));
}
