/* Check my config: the browser twin of bookkit.checkconfig (Python). No DOM, no network.
 * It reads the document bookkit.checkconfig_data builds from the manifests (_bookkit/checkconfig.json)
 * and applies the same rules, function for function; both run tests/bookkit/checkconfig_cases.yml.
 * The YAML parser is passed in (the `yaml` npm package: the site's copy in the browser, node_modules
 * under node's test runner), so this file loads anywhere. */
(function (root, factory) {
  if (typeof module === "object" && module.exports) module.exports = factory();
  else root.BookCheckConfigCore = factory();
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  const ERRORS = ["unknown", "release", "type", "recipe", "add-existing"];
  const COMMAND_RE = /\.py\b|^\s*(uv|python3?|torchrun)\s/;
  const YAML_KEY_RE = /^\s*[\w.\-"']+\s*:(\s|$)/;
  const OVERRIDE_RE = /^(\+\+|\+|~)?([A-Za-z_][\w-]*(?:\.[\w\-@]+)*)(?:=([\s\S]*))?$/;
  const FLOAT_RE = /^[-+]?(\.[0-9]+|[0-9]+\.[0-9]*|[0-9]+(\.[0-9]*)?[eE][-+]?[0-9]+|\.inf|\.nan)$/i;
  const STOP_TOKENS = ["|", "||", "&&", ";", "&"];
  const CUTOFF = 0.6;
  const YAML_OPTIONS = { version: "1.1", uniqueKeys: false };

  class InputError extends Error {
    constructor(message, line, column) { super(message); this.line = line ?? null; this.column = column ?? null; }
  }

  /* difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() */
  function ratio(a, b) {
    const b2j = new Map();
    for (let j = 0; j < b.length; j++) { if (!b2j.has(b[j])) b2j.set(b[j], []); b2j.get(b[j]).push(j); }
    function longest(alo, ahi, blo, bhi) {
      let besti = alo, bestj = blo, size = 0, j2len = new Map();
      for (let i = alo; i < ahi; i++) {
        const next = new Map();
        for (const j of b2j.get(a[i]) || []) {
          if (j < blo) continue;
          if (j >= bhi) break;
          const k = (j2len.get(j - 1) || 0) + 1;
          next.set(j, k);
          if (k > size) { besti = i - k + 1; bestj = j - k + 1; size = k; }
        }
        j2len = next;
      }
      return [besti, bestj, size];
    }
    let matches = 0;
    const queue = [[0, a.length, 0, b.length]];
    while (queue.length) {
      const [alo, ahi, blo, bhi] = queue.pop();
      const [i, j, k] = longest(alo, ahi, blo, bhi);
      if (!k) continue;
      matches += k;
      if (alo < i && blo < j) queue.push([alo, i, blo, j]);
      if (i + k < ahi && j + k < bhi) queue.push([i + k, ahi, j + k, bhi]);
    }
    return a.length + b.length ? (2 * matches) / (a.length + b.length) : 1;
  }

  function closest(name, candidates) {
    let best = null, score = CUTOFF;
    for (const cand of [...candidates].sort()) {
      const r = ratio(name, cand);
      if (r > score) { best = cand; score = r; }
    }
    return best;
  }

  function knownKey(key, keys) {
    if (keys.has(key)) return true;
    const parts = key.split(".");
    for (let cut = parts.length - 1; cut > 0; cut--) {
      const prefix = parts.slice(0, cut).join(".");
      if (keys.has(prefix)) { for (const k of keys) if (k.startsWith(prefix + ".")) return false; return true; }
    }
    return false;
  }

  function typeOf(value, source) {
    if (value === null || value === undefined) return "null";
    if (typeof value === "boolean") return "bool";
    if (typeof value === "number") {
      return Number.isInteger(value) && !(source != null && FLOAT_RE.test(String(source).trim())) ? "int" : "float";
    }
    if (typeof value === "string") return "str";
    return Array.isArray(value) ? "list" : "mapping";
  }

  function defaultType(d) {
    if (d === "<long string>") return "str";
    if (d === "<list of mappings>") return "list";
    if (d && typeof d === "object" && !Array.isArray(d) && Object.keys(d).length === 1 && "f" in d) return "float";
    return typeOf(d);
  }

  function unmark(d) {
    return d && typeof d === "object" && !Array.isArray(d) && Object.keys(d).length === 1 && "f" in d ? d.f : d;
  }

  function show(v) {
    if (v === null || v === undefined) return "null";
    if (Array.isArray(v)) return "[" + v.map(show).join(", ") + "]";
    if (typeof v === "object") return "{" + Object.keys(v).map((k) => k + ": " + show(v[k])).join(", ") + "}";
    return String(v);
  }

  function same(a, b) {
    if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
    if (typeof a === "boolean" || typeof b === "boolean") return a === b;
    if (a && b && typeof a === "object" && typeof b === "object") return JSON.stringify(a) === JSON.stringify(b);
    return a === b;
  }

  /* Shell-like words with the 1-based line each starts on. */
  function tokens(text) {
    const out = [];
    let word = null, line = 1, start = 1, quote = null;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (quote) {
        if (ch === quote) quote = null;
        else if (ch === "\\" && quote === '"' && i + 1 < text.length) { i++; word += text[i]; }
        else word += ch;
      } else if (ch === "\\" && text[i + 1] === "\n") {
        i++;
        if (word !== null) { out.push([word, start]); word = null; }
      } else if (ch === " " || ch === "\t" || ch === "\n") {
        if (word !== null) { out.push([word, start]); word = null; }
      } else if (ch === "#" && word === null) {
        while (i + 1 < text.length && text[i + 1] !== "\n") i++;
      } else {
        if (word === null) { word = ""; start = line; }
        if (ch === "'" || ch === '"') quote = ch; else word += ch;
      }
      if (text[i] === "\n") line++;
    }
    if (word !== null) out.push([word, start]);
    return out.flatMap(([w, n]) => (w.trim().includes(" ") ? w.split(/\s+/).filter(Boolean).map((p) => [p, n]) : [[w, n]]));
  }

  function isCommand(text) {
    for (const line of text.split("\n")) {
      if (line.trim() && !line.trimStart().startsWith("#")) return COMMAND_RE.test(line) && !YAML_KEY_RE.test(line);
    }
    return false;
  }

  function parseValue(YAML, text) {
    try { return [YAML.parse(text, YAML_OPTIONS), text]; } catch (e) { return [text, text]; }
  }

  function parseYaml(YAML, text) {
    const lc = new YAML.LineCounter();
    const doc = YAML.parseDocument(text, { ...YAML_OPTIONS, lineCounter: lc });
    if (doc.errors.length) {
      const e = doc.errors[0], pos = (e.linePos && e.linePos[0]) || {};
      throw new InputError("malformed YAML: " + e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, ""),
        pos.line, pos.col);
    }
    const entries = [];
    let parents = null, parentsLine = null;
    const rootNode = doc.contents;
    if (rootNode === null || rootNode === undefined || (YAML.isScalar(rootNode) && rootNode.value === null)) {
      return [entries, [null, null]];
    }
    if (!YAML.isMap(rootNode)) {
      const p = lc.linePos(rootNode.range[0]);
      throw new InputError("the top level is not a mapping of config keys", p.line, p.col);
    }
    function walk(node, prefix, inside) {
      const replace = inside || node.items.some((p) => p.key && p.key.value === "_override_");
      for (const pair of node.items) {
        const key = String(pair.key && YAML.isScalar(pair.key) ? pair.key.value : pair.key);
        if (key === "_override_") continue;
        const pos = lc.linePos(pair.key.range[0]);
        const v = pair.value;
        if (!prefix && key === "defaults") { parents = v ? v.toJSON() : null; parentsLine = pos.line; continue; }
        const entry = { key: prefix + key, line: pos.line, column: pos.col, replaced: replace };
        if (YAML.isMap(v)) {
          entries.push({ ...entry, value: {}, type: "mapping" });
          walk(v, prefix + key + ".", replace);
        } else {
          const value = v ? v.toJSON() : null;
          const plain = v && YAML.isScalar(v) && v.type === "PLAIN";
          const source = plain ? text.slice(v.range[0], v.range[1]) : null;
          entries.push({ ...entry, value, type: typeOf(value, source) });
        }
      }
    }
    walk(rootNode, "", false);
    return [entries, [parents, parentsLine]];
  }

  /* One release's configs, decoded from the shared data. */
  class Release {
    constructor(data, name) {
      this.name = name; this.table = data.keys; this.configs = data.configs[name] || {};
      this.defs = data.defaults[name] || {}; this.cache = new Map(); this.paths = Object.keys(this.configs).sort();
    }
    keys(path) {
      if (!this.cache.has(path)) {
        const enc = this.configs[path];
        let own;
        if (Array.isArray(enc)) own = new Set(enc.map((i) => this.table[i]));
        else {
          own = new Set([...this.keys(enc.base), ...enc.add.map((i) => this.table[i])]);
          for (const i of enc.drop) own.delete(this.table[i]);
        }
        this.cache.set(path, own);
      }
      return this.cache.get(path);
    }
    allKeys() {
      if (!this.all) { this.all = new Set(); for (const p of this.paths) for (const k of this.keys(p)) this.all.add(k); }
      return this.all;
    }
    defaults(path) {
      const out = {};
      for (const [i, v] of Object.entries(this.defs[path] || {})) out[this.table[Number(i)]] = v;
      return out;
    }
  }

  function union(rel, paths) {
    const out = new Set();
    for (const p of paths) for (const k of rel.keys(p)) out.add(k);
    return out;
  }

  function findConfig(name, paths) {
    const bare = String(name).split("/").filter((p) => p && p !== "." && p !== "..").join("/");
    for (const cand of [bare, "examples/configs/" + bare]) if (paths.includes(cand)) return cand;
    const ends = paths.filter((p) => p.endsWith("/" + bare));
    ends.sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
    return ends.length ? ends[0] : null;
  }

  function finding(kind, item, message, extra) {
    item = item || {};
    return { kind, severity: ERRORS.includes(kind) ? "error" : "note", line: item.line ?? null,
      column: item.column ?? null, key: item.key ?? null, message, ...(extra || {}) };
  }

  return { ERRORS, InputError, ratio, closest, knownKey, typeOf, defaultType, unmark, show, same, tokens,
    isCommand, parseValue, parseYaml, Release, union, findConfig, finding, OVERRIDE_RE, STOP_TOKENS };
});
