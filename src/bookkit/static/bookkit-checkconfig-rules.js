/* Check my config: the rules (bookkit.checkconfig's check(), other_release() and _check_item()),
 * on top of bookkit-checkconfig-core.js. check(YAML, text, data, release) returns
 * {release, recipes, input, findings} or throws core.InputError (malformed input). */
(function (root, factory) {
  if (typeof module === "object" && module.exports) module.exports = factory(require("./bookkit-checkconfig-core.js"));
  else root.BookCheckConfig = factory(root.BookCheckConfigCore);
})(typeof self !== "undefined" ? self : this, function (core) {
  "use strict";
  const { InputError, Release, closest, knownKey, typeOf, defaultType, unmark, show, same, tokens, isCommand,
    parseValue, parseYaml, union, findConfig, finding, OVERRIDE_RE, STOP_TOKENS } = core;
  const a = (w) => ("aeiou".includes(w[0]) ? "an " : "a ") + w;
  const q = (s) => "'" + s + "'";
  const cmp = (x, y) => (x < y ? -1 : x > y ? 1 : 0);

  function otherRelease(key, recipes, data, release) {
    const order = data.releases, here = order.indexOf(release);
    const has = (name) => {
      const rel = new Release(data, name);
      const own = recipes.filter((p) => rel.paths.includes(p));
      return knownKey(key, own.length ? union(rel, own) : rel.allKeys());
    };
    for (let i = here - 1; i >= 0; i--) {
      if (has(order[i])) {
        const gone = order[i + 1], renamed = (data.renamed[gone] || {})[key];
        const text = renamed ? `renamed to ${q(renamed)} in ${gone}` : `removed in ${gone}`;
        return [`${text} (it is in ${order[i]})`, renamed || null];
      }
    }
    for (let i = here + 1; i < order.length; i++) {
      if (has(order[i])) {
        const map = data.renamed[order[i]] || {};
        const old = Object.keys(map).find((k) => map[k] === key) || null;
        return [`new in ${order[i]}` + (old ? ` (renamed from ${q(old)})` : ""), old];
      }
    }
    return null;
  }

  function override(YAML, word, line) {
    const m = OVERRIDE_RE.exec(word);
    if (!m || (m[3] === undefined && m[1] !== "~")) return [];
    const [value, source] = parseValue(YAML, m[3] || "");
    return [{ key: m[2], op: m[1] || "", value, type: typeOf(value, source), line, column: null, replaced: false }];
  }

  function read(YAML, text) {
    if (!isCommand(text)) {
      let [entries, [parents, line]] = parseYaml(YAML, text);
      const first = text.trim() ? text.trimStart().split("\n")[0] : "";
      if (parents === null && first.startsWith("#") && first.includes("recipe:")) parents = first.split("recipe:")[1].trim();
      const names = Array.isArray(parents) ? parents : parents === null ? [] : [parents];
      return [entries, names.map((n) => [String(n), { line: line || 1, key: "defaults" }]), null];
    }
    const words = tokens(text), items = [], parents = [];
    let script = null, started = false;
    for (let i = 0; i < words.length; i++) {
      const [word, line] = words[i];
      if (STOP_TOKENS.includes(word)) break;
      if (word.endsWith(".py") && script === null) { script = word; started = true; }
      else if (word === "--config" && i + 1 < words.length) parents.push([words[i + 1][0], { line: words[i + 1][1], key: "--config" }]);
      else if (word.startsWith("--config=")) parents.push([word.split("=").slice(1).join("="), { line, key: "--config" }]);
      else if (started) items.push(...override(YAML, word, line));
    }
    return [items, parents, script];
  }

  function checkItem(item, keys, defaults, recipes, data, release) {
    const { key } = item, op = item.op || "";
    if (op === "+") {
      return knownKey(key, keys) ? [finding("add-existing", item, `+${key} adds a key, but the recipe already has ` +
        `${q(key)}; write ${key}=... to change it`, { suggestion: key })] : [];
    }
    if (item.replaced || (op === "++" && !knownKey(key, keys))) return [];
    if (!knownKey(key, keys)) {
      const other = otherRelease(key, recipes, data, release);
      if (other) return [finding("release", item, `${q(key)} is not in NeMo RL ${release}: ${other[0]}`, { suggestion: other[1] })];
      const hint = closest(key, keys);
      return [finding("unknown", item, `unknown key ${q(key)}` + (hint ? `; did you mean ${q(hint)}?` : ""), { suggestion: hint })];
    }
    if (op === "~" || item.type === "null") return [];
    if (!(key in defaults)) {
      let below = 0;
      for (const k of keys) if (k.startsWith(key + ".")) below++;
      return below && item.type !== "mapping"
        ? [finding("type", item, `${q(key)} is a section of ${below} keys in the recipe, not ${a(item.type)} value`)] : [];
    }
    const raw = defaults[key], dflt = unmark(raw), want = defaultType(raw), got = item.type;
    const isEmptyMap = dflt && typeof dflt === "object" && !Array.isArray(dflt) && !Object.keys(dflt).length;
    const fine = got === want || want === "null" || (got === "int" && want === "float") ||
      (got === "str" && String(item.value).startsWith("${")) || (want === "mapping" && isEmptyMap);
    if (!fine) {
      return [finding("type", item, `${q(key)} is ${a(got)} here, but the recipe default is ${a(want)} (${show(dflt)})`, { default: dflt })];
    }
    if (got !== "mapping" && !same(item.value, dflt) && dflt !== "<long string>") {
      return [finding("changed", item, `${key}: ${show(item.value)} (recipe default: ${show(dflt)})`, { default: dflt })];
    }
    return [];
  }

  function check(YAML, text, data, release) {
    release = release || data.current;
    if (!data.releases.includes(release)) throw new InputError(`unknown release ${q(release)}; choose one of ${data.releases.join(", ")}`);
    const rel = new Release(data, release), findings = [];
    const [items, parents, script] = read(YAML, text);
    let recipes = [];
    for (const [name, item] of parents) {
      const path = findConfig(name, rel.paths);
      if (path) { recipes.push(path); continue; }
      const hint = closest(name.split("/").pop(), rel.paths.map((p) => p.split("/").pop()));
      findings.push(finding("recipe", item, `${q(name)} is not a config of NeMo RL ${rel.name}` +
        (hint ? `; did you mean ${q(hint)}?` : ""), { suggestion: hint }));
    }
    const where = parents.length ? parents[0][1] : { line: 1 };
    const base = script ? script.split("/").pop() : null;
    if (!parents.length && script && base in data.scripts) {
      recipes = [data.scripts[base]];
      findings.push(finding("inherits", where, `no --config: ${script} uses ${recipes[0]}`));
    } else if (!parents.length && items.length) {
      const user = new Set(items.map((i) => i.key));
      const score = (p) => { let n = 0; for (const k of user) if (rel.keys(p).has(k)) n++; return n; };
      let best = null, bestKey = null;
      for (const p of rel.paths) {
        const k = [score(p), p.includes("/recipes/") ? 0 : 1, -rel.keys(p).size];
        if (bestKey === null || k[0] > bestKey[0] || (k[0] === bestKey[0] && (k[1] > bestKey[1] || (k[1] === bestKey[1] && k[2] > bestKey[2])))) {
          best = p; bestKey = k;
        }
      }
      if (best && bestKey[0] > 0) {
        recipes = [best];
        findings.push(finding("inherits", where, `no defaults: compared with ${best}, the config that has most of these keys`));
      }
    } else if (recipes.length) {
      findings.push(finding("inherits", where, `resolved against ${recipes.join(" + ")} (${release})`));
    }
    const keys = recipes.length ? union(rel, recipes) : rel.allKeys();
    const defaults = {};
    for (const p of recipes) Object.assign(defaults, rel.defaults(p));
    for (const item of items) findings.push(...checkItem(item, keys, defaults, recipes, data, release));
    findings.sort((x, y) => (x.line === null) - (y.line === null) || (x.line || 0) - (y.line || 0) ||
      cmp(x.key || "", y.key || "") || cmp(x.kind, y.kind));
    return { release, recipes, input: script ? "command" : "yaml", findings };
  }

  return { check, otherRelease };
});
