/* bookkit versions: the theme's switcher links resolved against the site root (it resolves
 * them against the page), and a banner on versions other than the preferred one. */
(() => {
  "use strict";
  const CFG = window.BOOKKIT_VERSIONS || {};
  const ROOT = new URL(document.documentElement.dataset.content_root || "./", document.baseURI);
  const page = location.href.startsWith(ROOT.href) ? location.href.slice(ROOT.href.length).split("#")[0] : "";
  const fix = (a) => {
    const raw = a.getAttribute("href");
    if (raw && !/^[a-z]+:/i.test(raw)) a.setAttribute("href", new URL(raw, ROOT).href);
  };
  const watch = () => document.querySelectorAll(".version-switcher__menu").forEach((menu) => {
    menu.querySelectorAll("a[href]").forEach(fix);
    new MutationObserver(() => menu.querySelectorAll("a[href]").forEach(fix)).observe(menu, { childList: true });
  });

  async function banner() {
    const res = await fetch(new URL(CFG.file || "versions1.json", ROOT));
    if (!res.ok) return;
    const entries = await res.json();
    const preferred = entries.find((e) => e.preferred);
    if (!preferred || preferred.version === CFG.match) return;
    const target = new URL(preferred.url + page, ROOT).href;
    const link = document.createElement("a");
    link.href = target;
    link.textContent = `Go to ${preferred.name || preferred.version}`;
    link.addEventListener("click", async (e) => {  // the same page if the preferred version has it
      e.preventDefault();
      try { location.href = (await fetch(target, { method: "HEAD" })).ok ? target : new URL(preferred.url, ROOT).href; }
      catch { location.href = new URL(preferred.url, ROOT).href; }
    });
    const box = document.createElement("div");
    box.className = "bk-version-banner";
    box.setAttribute("role", "note");
    box.append(`You are reading the ${CFG.match} version of this book; the recommended version is `
      + `${preferred.name || preferred.version}. `, link);
    document.body.prepend(box);
  }

  const start = () => { watch(); banner().catch(() => {}); };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
