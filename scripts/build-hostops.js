#!/usr/bin/env node
// Builds node_modules/@rplan/hostops: the compiled implementation that thin dynamic providers
// require() inside their method bodies (providers/thin.ts). It is a real copy under node_modules so
// that the dynamic-provider host resolves it from the project directory, with no ts-node, and so
// that it never changes behind a running update.
const { execFileSync } = require("child_process");
const fs = require("fs");
const path = require("path");
const root = path.resolve(__dirname, "..");
const out = path.join(root, "node_modules", "@rplan", "hostops");
// tsc's incremental cache lives outside the output: if npm removed the output, the cache lies.
const buildInfo = path.join(root, "node_modules", ".cache", "rplan-hostops.tsbuildinfo");
if (!fs.existsSync(path.join(out, "package.json"))) fs.rmSync(buildInfo, { force: true });
execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(root, "tsconfig.hostops.json")], {
  cwd: root,
  stdio: "inherit",
});
fs.writeFileSync(
  path.join(out, "package.json"),
  JSON.stringify({ name: "@rplan/hostops", version: "0.0.0", private: true, description: "built from providers/impl, transports, planning, ops" }, null, 2) + "\n",
);
