// Runs the browser's config checker on the shared cases: node checkconfig_cases.cjs DATA.json CASES.json
// prints one JSON result per case ({findings} or {error: [line, column, message]}); test_checkconfig.py compares.
const fs = require("node:fs");
const path = require("node:path");
const YAML = require(path.join(__dirname, "../../node_modules/yaml"));
const rules = require(path.join(__dirname, "../../src/bookkit/static/bookkit-checkconfig-rules.js"));
const core = require(path.join(__dirname, "../../src/bookkit/static/bookkit-checkconfig-core.js"));

const data = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const cases = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
const out = cases.map((c) => {
  try {
    return { findings: rules.check(YAML, c.input, data, c.release || null).findings };
  } catch (e) {
    if (!(e instanceof core.InputError)) throw e;
    return { error: [e.line, e.column, e.message] };
  }
});
process.stdout.write(JSON.stringify(out));
