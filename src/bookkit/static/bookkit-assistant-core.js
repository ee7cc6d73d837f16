/* "Ask the book" core: retrieval over the book's passages and safe Markdown rendering.
 * No DOM and no network here, so node's test runner checks it (tests/assistant/core.test.cjs).
 * Passages are page sections: {p: page title, u: page URL, a: heading anchor, h: heading, t: text}. */
(function (root, factory) {
  if (typeof module === "object" && module.exports) module.exports = factory();
  else root.BookAssistantCore = factory();
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  const STOP = new Set(("a an and are as at be but by can do does for from has have how i if in into is it its " +
    "me my of on or should so than that the their them then there these this to use used using was what when " +
    "where which who why will with you your").split(" "));
  const K1 = 1.2, B = 0.75;
  /** Below this share of the question's weight matched, the answer is "nothing matches well". */
  const THRESHOLD = 0.45;

  function stem(word) {
    if (word.length > 4 && word.endsWith("ies")) return word.slice(0, -3) + "y";
    if (word.length > 5 && word.endsWith("ing")) return word.slice(0, -3);
    if (word.length > 3 && word.endsWith("s") && !word.endsWith("ss")) return word.slice(0, -1);
    return word;
  }

  /** Words of a text: lower case, identifiers also split into their parts, stop words dropped. */
  function tokenize(text) {
    const out = [];
    for (const raw of String(text).split(/[^A-Za-z0-9_.]+/)) {
      const token = raw.replace(/^[._]+|[._]+$/g, "");
      if (!token) continue;
      const parts = token.split(/[._]+/).flatMap((p) => p.split(/(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])/));
      if (parts.length > 1) out.push(token.toLowerCase());
      for (const part of parts) {
        const w = part.toLowerCase();
        if (w.length > 1 && !STOP.has(w)) out.push(stem(w));
      }
    }
    return out;
  }

  /** A BM25 index over passages; the page title and heading count twice. */
  function buildIndex(passages) {
    const docs = passages.map((p) => {
      const tf = new Map();
      const words = tokenize(`${p.p} ${p.h} ${p.h} ${p.t}`);
      for (const w of words) tf.set(w, (tf.get(w) || 0) + 1);
      return { tf, len: words.length };
    });
    const df = new Map();
    for (const d of docs) for (const w of d.tf.keys()) df.set(w, (df.get(w) || 0) + 1);
    const avgdl = docs.reduce((s, d) => s + d.len, 0) / Math.max(docs.length, 1);
    return { passages, docs, df, avgdl, n: docs.length };
  }

  function idf(index, word) {
    const n = index.df.get(word) || 0;
    return Math.log(1 + (index.n - n + 0.5) / (n + 0.5));
  }

  /** Passages ranked for a question: [{passage, score, coverage}], best first. */
  function search(index, question, k = 5) {
    const terms = [...new Set(tokenize(question))];
    if (!terms.length || !index.n) return [];
    const weights = terms.map((w) => idf(index, w));
    const total = weights.reduce((a, b) => a + b, 0);
    const hits = [];
    index.docs.forEach((d, i) => {
      let score = 0, matched = 0;
      terms.forEach((w, j) => {
        const f = d.tf.get(w);
        if (!f) return;
        matched += weights[j];
        score += weights[j] * (f * (K1 + 1)) / (f + K1 * (1 - B + B * d.len / index.avgdl));
      });
      if (score > 0) hits.push({ passage: index.passages[i], score, coverage: total ? matched / total : 0 });
    });
    hits.sort((a, b) => b.score - a.score);
    return hits.slice(0, k);
  }

  /** The offline answer: the best passage of up to `k` pages, or none under the threshold. */
  function answer(index, question, k = 3) {
    const hits = search(index, question, 12);
    if (!hits.length || hits[0].coverage < THRESHOLD) return { ok: false, passages: [] };
    const seen = new Set();
    const top = hits.filter((h) => h.coverage >= THRESHOLD && h.score >= hits[0].score * 0.35)
      .filter((h) => !seen.has(h.passage.u) && seen.add(h.passage.u));  // one passage per page
    return { ok: true, passages: top.slice(0, k) };
  }

  function citation(passage) {
    return { title: passage.p, heading: passage.h, url: passage.u + (passage.a ? `#${passage.a}` : "") };
  }

  // ------------------------------------------------------------ safe Markdown ----
  const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => ESC[c]);

  /** A link target that is safe to render: http(s), mailto, or a relative/fragment URL; else null. */
  function safeUrl(url) {
    const decoded = String(url).replace(/&(#x?[0-9a-f]+|amp|colon|tab|newline);?/gi, (m, e) => {
      const named = { amp: "&", colon: ":", tab: "\t", newline: "\n" }[e.toLowerCase()];
      if (named) return named;
      const code = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return String.fromCodePoint(code || 0);
    });
    const compact = decoded.replace(/[\u0000-\u0020\u007f-\u009f]+/g, "");
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(compact);
    if (scheme && !/^(https?|mailto)$/i.test(scheme[1])) return null;
    if (/^\/\//.test(compact) === false && /^[\\/]{2}/.test(compact)) return null;
    return compact;
  }

  function inline(text) {
    // Text is escaped first, so no tag the answer writes survives; only the markup below is created.
    const codes = [];
    let s = escapeHtml(text).replace(/`([^`]+)`/g, (m, c) => `\u0000${codes.push(c) - 1}\u0000`);
    s = s.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (m, label, url) => {
      const safe = safeUrl(url.replace(/&amp;/g, "&").replace(/&quot;/g, '"').replace(/&#39;/g, "'"));
      return safe === null ? label : `<a href="${escapeHtml(safe)}" rel="noopener noreferrer">${label}</a>`;
    });
    s = s.replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>").replace(/(^|[^*])\*([^*\s][^*]*)\*/g, "$1<em>$2</em>");
    return s.replace(/\u0000(\d+)\u0000/g, (m, i) => `<code>${codes[Number(i)]}</code>`);
  }

  /** Markdown (paragraphs, headings, lists, fences, inline code, emphasis, links) to safe HTML. */
  function renderMarkdown(md) {
    const lines = String(md || "").replace(/\r\n?/g, "\n").split("\n");
    const out = [];
    let para = [], list = null;
    const flush = () => {
      if (para.length) out.push(`<p>${inline(para.join(" "))}</p>`);
      para = [];
      if (list) out.push(`<${list.tag}>${list.items.map((i) => `<li>${inline(i)}</li>`).join("")}</${list.tag}>`);
      list = null;
    };
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      const fence = /^\s*(`{3,}|~{3,})\s*([\w+-]*)/.exec(line);
      if (fence) {
        flush();
        const body = [];
        while (++i < lines.length && !lines[i].trim().startsWith(fence[1])) body.push(lines[i]);
        const lang = fence[2] ? ` class="language-${escapeHtml(fence[2])}"` : "";
        out.push(`<pre><code${lang}>${escapeHtml(body.join("\n"))}</code></pre>`);
        continue;
      }
      const heading = /^(#{1,6})\s+(.*)$/.exec(line);
      const bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
      const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
      if (heading) { flush(); const n = Math.min(heading[1].length + 2, 6); out.push(`<h${n}>${inline(heading[2])}</h${n}>`); }
      else if (bullet || numbered) {
        if (para.length) { out.push(`<p>${inline(para.join(" "))}</p>`); para = []; }
        const tag = bullet ? "ul" : "ol";
        if (list && list.tag !== tag) flush();
        list = list || { tag, items: [] };
        list.items.push((bullet || numbered)[1]);
      } else if (!line.trim()) flush();
      else if (list && /^\s+/.test(line)) list.items[list.items.length - 1] += " " + line.trim();
      else { if (list) flush(); para.push(line.trim()); }
    }
    flush();
    return out.join("\n");
  }

  /** The messages sent to an OpenAI-compatible endpoint: instructions, numbered passages, the question. */
  function buildMessages(question, passages) {
    const context = passages.map((h, i) => {
      const p = h.passage || h;
      return `[${i + 1}] ${p.p} — ${p.h}\n${String(p.t).slice(0, 1500)}`;
    }).join("\n\n");
    return [
      { role: "system", content: "You answer questions about NeMo RL using only the numbered passages from the " +
        "NeMo RL Book below. Cite passages as [1], [2]. If they do not answer the question, say so.\n\n" + context },
      { role: "user", content: String(question) },
    ];
  }

  return { tokenize, buildIndex, search, answer, citation, renderMarkdown, safeUrl, escapeHtml, buildMessages,
    THRESHOLD };
});
