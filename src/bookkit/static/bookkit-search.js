/* bookkit search: the theme's search button and Ctrl+K / Cmd+K open a dialog over the
 * site's own Pagefind index (loaded on first use from <site>/pagefind/, never a CDN).
 * Results show title, breadcrumb, a highlighted excerpt and open at the matching heading;
 * facets (section, persona, difficulty, content type, modality) come from front matter. */
(() => {
  "use strict";
  const ROOT = new URL(document.documentElement.dataset.content_root || "./", document.baseURI);
  const BUNDLE = (window.BOOKKIT_SEARCH && window.BOOKKIT_SEARCH.bundle) || "pagefind/";
  const FACETS = [["section", "Section"], ["type", "Content type"], ["difficulty", "Difficulty"],
    ["persona", "Persona"], ["modality", "Modality"]];
  // An identifier in a query becomes its search key, as bookkit.search.identifier_keys writes
  // keys into the index: grpo.max_num_steps -> grpomaxnumsteps, examples/run_grpo.py -> rungrpopy.
  const IDENT = /[._/]|[a-z][A-Z].*[a-z][A-Z]/;
  const key = (token) => IDENT.test(token)
    ? token.replace(/\/+$/, "").split("/").pop().toLowerCase().replace(/[^0-9a-z]/g, "") : token;
  // Question words carry no meaning for the index, and each costs a download of its index chunk.
  const STOP = new Set("a an and are as at be by can do does for from how i in is it of on or the to what when where which with".split(" "));
  const prepare = (query) => {
    const words = query.trim().split(/\s+/);
    const kept = words.filter((w) => !STOP.has(w.toLowerCase()));
    return (kept.length ? kept : words).map(key).join(" ");
  };
  const LABEL = (v) => v.replace(/-focused$/, "").replace(/-/g, " ");
  let pagefind = null, dialog = null, input, list, status, facetsBox, timer = null, seq = 0;
  const chosen = {};

  async function engine() {
    if (!pagefind) {
      pagefind = await import(new URL(BUNDLE + "pagefind.js", ROOT).href);
      await pagefind.options({ baseUrl: ROOT.pathname, excerptLength: 24 });
      await pagefind.init();
    }
    return pagefind;
  }

  function el(tag, attrs, ...kids) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const kid of kids) node.append(kid);
    return node;
  }

  function build() {
    dialog = el("dialog", { id: "bk-search", class: "bk-search", "aria-label": "Search this book" });
    input = el("input", { type: "search", id: "bk-search-input", placeholder: "Search this book",
      "aria-label": "Search this book", autocomplete: "off", spellcheck: "false" });
    const close = el("button", { type: "button", class: "bk-search__close" }, "Close");
    status = el("p", { class: "bk-search__status", role: "status", "aria-live": "polite" });
    facetsBox = el("div", { class: "bk-search__facets", "aria-label": "Filter results" });
    list = el("ol", { class: "bk-search__results", "aria-label": "Search results" });
    dialog.append(el("div", { class: "bk-search__bar" }, input, close),
      el("div", { class: "bk-search__main" }, facetsBox, el("div", { class: "bk-search__out" }, status, list)));
    document.body.append(dialog);
    close.addEventListener("click", () => dialog.close());
    dialog.addEventListener("click", (e) => { if (e.target === dialog) dialog.close(); });
    dialog.addEventListener("keydown", (e) => {  // the theme's own Escape handler would swallow it
      if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); dialog.close(); }
    });
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(run, 120); });
    input.addEventListener("keydown", (e) => {
      const first = list.querySelector("a");
      if (e.key === "Enter" && first) { e.preventDefault(); first.click(); }
    });
  }

  async function renderFacets() {
    const pf = await engine();
    const all = await pf.filters();
    facetsBox.replaceChildren();
    for (const [name, label] of FACETS) {
      const values = all[name] || {};
      if (!Object.keys(values).length) continue;
      const box = el("fieldset", { class: "bk-search__facet", "data-facet": name }, el("legend", {}, label));
      for (const value of Object.keys(values).sort()) {
        const id = `bk-f-${name}-${value}`.replace(/[^\w-]/g, "_");
        const check = el("input", { type: "checkbox", id, value, "data-facet": name });
        check.addEventListener("change", () => {
          chosen[name] = [...box.querySelectorAll("input:checked")].map((c) => c.value);
          run();
        });
        box.append(el("div", {}, check, el("label", { for: id }, LABEL(value),
          el("span", { class: "bk-search__count", "data-value": value }, ""))));
      }
      facetsBox.append(box);
    }
  }

  function best(sub) {
    // The sub-result (heading) holding the heaviest match (a definition, a heading), then the most
    // weighted matches; ties go to the first.
    let top = null, score = [-1, -1];
    for (const s of sub || []) {
      const ws = (s.weighted_locations || []).map((l) => l.weight || 1);
      const w = [Math.max(0, ...ws), ws.reduce((a, b) => a + b, 0) || (s.locations || []).length];
      if (w[0] > score[0] || (w[0] === score[0] && w[1] > score[1])) { top = s; score = w; }
    }
    return top;
  }

  // Where a match sits (weights from bookkit.search and Pagefind's heading weights):
  // 3 = a definition (config-reference key, API signature), 2 = a heading, 1 = a table's key column.
  const rank = (d) => {
    const top = Math.max(0, ...(d.weighted_locations || []).map((l) => l.weight || 0));
    return top >= 9.5 ? 3 : top >= 4.5 ? 2 : top >= 3.5 ? 1 : 0;
  };

  // Results for a query, best first: Pagefind's order, except that for an identifier the pages
  // that define it, then the pages with it in a heading, come first.
  async function find(query, filters, n) {
    const pf = await engine();
    const prepared = query ? prepare(query) : null;
    let search = await pf.search(prepared, { filters });
    if (query && !search.results.length && prepared !== query) search = await pf.search(query, { filters });
    const ident = query && /^\S+$/.test(query.trim()) && IDENT.test(query.trim());  // one identifier
    const data = await Promise.all(search.results.slice(0, ident ? Math.max(n, 20) : n).map((r) => r.data()));
    if (ident) data.forEach((d, i) => { d.bkOrder = i; d.bkRank = rank(d); });
    if (ident) data.sort((a, b) => b.bkRank - a.bkRank || a.bkOrder - b.bkOrder);
    return { search, data: data.slice(0, n) };
  }

  async function run() {
    const mine = ++seq;
    const query = input.value.trim();
    const filters = {};
    for (const [k, v] of Object.entries(chosen)) if (v.length) filters[k] = { any: v };
    if (!query && !Object.keys(filters).length) { list.replaceChildren(); status.textContent = ""; return; }
    const { search, data } = await find(query, filters, 12);
    if (mine !== seq) return;
    for (const span of facetsBox.querySelectorAll(".bk-search__count")) {
      const facet = span.closest("fieldset").dataset.facet;
      const n = (search.filters[facet] || {})[span.dataset.value];
      span.textContent = ` (${n || 0})`;
    }
    status.textContent = search.results.length ? `${search.results.length} pages match` : "No pages match.";
    list.replaceChildren(...data.map((d) => {
      const top = best(d.sub_results);
      const link = el("a", { href: top ? top.url : d.url, class: "bk-search__title" }, d.meta.title || d.url);
      const excerpt = el("p", { class: "bk-search__excerpt" });
      excerpt.innerHTML = (top && top.excerpt) || d.excerpt; // Pagefind escapes text; only <mark> remains
      const item = el("li", { class: "bk-search__result" }, link);
      if (d.meta.breadcrumb) item.append(el("div", { class: "bk-search__crumb" }, d.meta.breadcrumb));
      if (top && top.title && top.title !== d.meta.title) item.append(el("div", { class: "bk-search__heading" }, top.title));
      item.append(excerpt);
      const others = (d.sub_results || []).filter((s) => s !== top && s.url.includes("#")).slice(0, 3);
      if (others.length) item.append(el("ul", { class: "bk-search__subs" },
        ...others.map((s) => el("li", {}, el("a", { href: s.url }, s.title)))));
      return item;
    }));
  }

  async function open() {
    if (!dialog) build();
    if (!dialog.open) dialog.showModal();
    input.focus();
    input.select();
    try {
      if (!facetsBox.childElementCount) await renderFacets();
      if (input.value.trim()) run();
    } catch (err) {
      status.textContent = "Search is unavailable: the index did not load (open the site over http, not file://).";
      console.warn("bookkit search:", err);
    }
  }

  document.addEventListener("click", (e) => {
    const button = e.target.closest && e.target.closest(".search-button__button, .search-button-field");
    if (!button) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    open();
  }, true);
  window.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === "k") {
      e.preventDefault();
      e.stopImmediatePropagation();
      open();
    }
  }, true);
  window.BookkitSearch = { open, engine, prepare, find };
})();
