/* "Ask the book": a panel on every page. It loads the book's passages (written by
 * bookkit.assistant) and bookkit-assistant-core.js on first use, answers with the best
 * passages cited by page title and heading, and, when the build names an endpoint,
 * asks that OpenAI-compatible endpoint with the same passages. A key the reader enters
 * stays in this browser (localStorage) and is sent only as the Authorization header. */
(() => {
  "use strict";
  const CFG = window.BOOKKIT_ASSISTANT || {};
  const ROOT = new URL(document.documentElement.dataset.content_root || "./", document.baseURI);
  const KEY = "bookkit-assistant-key";
  let core = null, index = null, dialog, form, question, answerBox, keyInput;

  function el(tag, attrs, ...kids) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    node.append(...kids);
    return node;
  }

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const s = el("script", { src });
      s.onload = resolve;
      s.onerror = () => reject(new Error(`could not load ${src}`));
      document.head.append(s);
    });
  }

  async function ready() {
    if (!core) {
      await loadScript(new URL("_static/bookkit-assistant-core.js", ROOT).href);
      core = window.BookAssistantCore;
    }
    if (!index) {
      const res = await fetch(new URL(CFG.corpus || "_bookkit/assistant-corpus.json", ROOT));
      if (!res.ok) throw new Error(`passages not found (${res.status})`);
      index = core.buildIndex((await res.json()).passages);
    }
    return { core, index };
  }

  function citations(hits) {
    return el("ol", { class: "bk-ask__cites", "aria-label": "Sources" }, ...hits.map((h) => {
      const c = core.citation(h.passage);
      return el("li", {}, el("a", { href: new URL(c.url, ROOT).href, class: "bk-ask__cite" }, c.title),
        c.heading && c.heading !== c.title ? ` — ${c.heading}` : "");
    }));
  }

  function offline(result) {
    const box = el("div", { class: "bk-ask__offline" });
    result.passages.forEach((h, i) => {
      const c = core.citation(h.passage);
      const text = h.passage.t.length > 420 ? h.passage.t.slice(0, 420).replace(/\s\S*$/, "") + " …" : h.passage.t;
      box.append(el("blockquote", { class: "bk-ask__passage" }, el("p", {}, text),
        el("p", { class: "bk-ask__from" }, `[${i + 1}] `, el("a", { href: new URL(c.url, ROOT).href }, c.title),
          c.heading && c.heading !== c.title ? ` — ${c.heading}` : "")));
    });
    return box;
  }

  async function generated(text, hits) {
    const headers = { "Content-Type": "application/json" };
    const key = localStorage.getItem(KEY);
    if (key) headers.Authorization = `Bearer ${key}`;
    const res = await fetch(CFG.endpoint, { method: "POST", headers,
      body: JSON.stringify({ model: CFG.model || "default", messages: core.buildMessages(text, hits) }) });
    if (!res.ok) throw new Error(`the endpoint answered ${res.status}`);
    const data = await res.json();
    const content = data.choices && data.choices[0] && data.choices[0].message && data.choices[0].message.content;
    const box = el("div", { class: "bk-ask__generated" });
    box.innerHTML = core.renderMarkdown(content || ""); // escapes all HTML; only safe links survive
    return box;
  }

  async function ask(event) {
    event.preventDefault();
    const text = question.value.trim();
    if (!text) return;
    answerBox.replaceChildren(el("p", { class: "bk-ask__busy" }, "Searching the book…"));
    try {
      await ready();
      const result = core.answer(index, text);
      if (!result.ok) {
        answerBox.replaceChildren(el("p", { class: "bk-ask__none" },
          "Nothing in the book matches this question well. Try other words, or use Search (Ctrl+K)."));
        return;
      }
      const parts = [];
      if (CFG.endpoint) {
        try { parts.push(await generated(text, result.passages)); }
        catch (err) { parts.push(el("p", { class: "bk-ask__error" }, `No generated answer (${err.message}); the best passages follow.`)); }
      }
      if (!CFG.endpoint || parts[0].classList.contains("bk-ask__error")) parts.push(offline(result));
      parts.push(el("h3", { class: "bk-ask__sources" }, "Sources"), citations(result.passages));
      answerBox.replaceChildren(...parts);
    } catch (err) {
      answerBox.replaceChildren(el("p", { class: "bk-ask__error" }, `The assistant could not load: ${err.message}.`));
    }
  }

  function build() {
    dialog = el("dialog", { id: "bk-ask", class: "bk-ask", "aria-labelledby": "bk-ask-title" });
    question = el("textarea", { id: "bk-ask-q", rows: "2", placeholder: "How do I resume training from a checkpoint?" });
    form = el("form", { class: "bk-ask__form" }, el("label", { for: "bk-ask-q" }, "Your question"), question,
      el("div", { class: "bk-ask__actions" }, el("button", { type: "submit", class: "bk-ask__go" }, "Ask"),
        el("button", { type: "button", class: "bk-ask__close" }, "Close")));
    answerBox = el("div", { class: "bk-ask__answer", "aria-live": "polite" });
    dialog.append(el("h2", { id: "bk-ask-title" }, "Ask the book"),
      el("p", { class: "bk-ask__note" }, CFG.endpoint
        ? "Answers are generated from the book's passages by the configured model; check them against the sources."
        : "Answers are the book's own passages that match your question best, with links to them."),
      form, answerBox);
    if (CFG.endpoint) {
      keyInput = el("input", { type: "password", id: "bk-ask-key", autocomplete: "off" });
      keyInput.value = localStorage.getItem(KEY) || "";
      keyInput.addEventListener("change", () => {
        if (keyInput.value) localStorage.setItem(KEY, keyInput.value); else localStorage.removeItem(KEY);
      });
      dialog.append(el("details", { class: "bk-ask__settings" }, el("summary", {}, "API key (optional)"),
        el("label", { for: "bk-ask-key" }, "Key, kept in this browser only"), keyInput));
    }
    form.addEventListener("submit", ask);
    question.addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) ask(e); });
    dialog.querySelector(".bk-ask__close").addEventListener("click", () => dialog.close());
    dialog.addEventListener("keydown", (e) => {
      if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); dialog.close(); }
    });
    document.body.append(dialog);
  }

  function open() {
    if (!dialog) build();
    if (!dialog.open) dialog.showModal();
    question.focus();
  }

  function mount() {
    const button = el("button", { type: "button", class: "bk-ask-button", "aria-haspopup": "dialog" }, "Ask the book");
    button.addEventListener("click", open);
    document.body.append(button);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount); else mount();
  window.BookkitAssistant = { open, ready };
})();
