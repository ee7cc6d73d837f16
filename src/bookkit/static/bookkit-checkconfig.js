/* Check my config: the form of the {config-check} directive (bookkit.checkconfig_page).
 * Loads the checker data (_bookkit/checkconfig.json) and the site's copy of the `yaml` parser,
 * then checks the text box on every change with BookCheckConfig (the rules shared with
 * `bookkit check-config`). Nothing leaves the page. */
(function () {
  "use strict";
  const urls = window.BOOKKIT_CHECKCONFIG || {};

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function render(form, result, error) {
    const summary = form.querySelector(".bookkit-checkconfig-summary");
    const list = form.querySelector(".bookkit-checkconfig-findings");
    list.replaceChildren();
    if (error) {
      const where = error.line ? `Line ${error.line}` + (error.column ? `, column ${error.column}` : "") + ": " : "";
      summary.textContent = where + error.message;
      summary.dataset.state = "input-error";
      return;
    }
    const errors = result.findings.filter((f) => f.severity === "error").length;
    const notes = result.findings.length - errors;
    summary.textContent = `${errors} error(s), ${notes} note(s) against NeMo RL ${result.release}` +
      (result.recipes.length ? ` (${result.recipes.join(" + ")})` : "");
    summary.dataset.state = errors ? "errors" : "clean";
    for (const f of result.findings) {
      const item = el("li", `bookkit-checkconfig-${f.severity}`);
      item.dataset.kind = f.kind;
      if (f.key) item.dataset.key = f.key;
      if (f.line) item.dataset.line = String(f.line);
      item.append(el("span", "bookkit-checkconfig-kind", f.kind), " ");
      if (f.line) item.append(el("span", "bookkit-checkconfig-line", `line ${f.line}`), " ");
      item.append(el("span", "bookkit-checkconfig-message", f.message));
      list.append(item);
    }
  }

  async function start(form) {
    const summary = form.querySelector(".bookkit-checkconfig-summary");
    let YAML, data;
    try {
      [YAML, data] = await Promise.all([import(urls.yaml), fetch(urls.data).then((r) => {
        if (!r.ok) throw new Error(`${urls.data}: HTTP ${r.status}`);
        return r.json();
      })]);
    } catch (e) {
      summary.textContent = "The checker could not load its data: " + e.message;
      summary.dataset.state = "input-error";
      return;
    }
    const input = form.querySelector("textarea");
    const select = form.querySelector("select");
    for (const name of data.releases) {
      const option = el("option", "", name === data.current ? `${name} (this book)` : name);
      option.value = name;
      option.selected = name === data.current;
      select.append(option);
    }
    const run = () => {
      try {
        render(form, window.BookCheckConfig.check(YAML, input.value, data, select.value), null);
      } catch (e) {
        if (!(e instanceof window.BookCheckConfigCore.InputError)) throw e;
        render(form, null, e);
      }
    };
    let timer = null;
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(run, 250); });
    select.addEventListener("change", run);
    form.addEventListener("submit", (event) => { event.preventDefault(); run(); });
    form.dataset.ready = "true";
    run();
  }

  function init() { document.querySelectorAll("[data-bookkit-checkconfig]").forEach(start); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
