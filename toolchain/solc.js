#!/usr/bin/env node
// A solc-compatible command line over the npm `solc` (WebAssembly) build, for the two calls
// py-solc-x makes: `--version` and `--standard-json [--base-path P] [--allow-paths …]`.
// solcjs's own CLI cannot serve: it prints a notice on stdout and does synchronous stdio,
// which truncates large JSON outputs (EAGAIN).
"use strict";
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const args = process.argv.slice(2);

function optionValue(name) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : undefined;
}

if (args.includes("--version")) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
} else if (args.includes("--standard-json")) {
  const basePath = path.resolve(optionValue("--base-path") || process.cwd());
  const includePaths = [basePath];
  const allow = optionValue("--allow-paths");
  if (allow) includePaths.push(...allow.split(",").map((p) => path.resolve(p)));

  // Sources given inline are handed to the compiler by name and read back through the import
  // callback: the WebAssembly build copies its input onto its stack, which a whole project's
  // sources (some 1.3 MB) overflow ("memory access out of bounds").
  const inlineSources = new Map();
  const readImport = (importPath) => {
    if (inlineSources.has(importPath)) return { contents: inlineSources.get(importPath) };
    for (const root of includePaths) {
      const candidate = path.isAbsolute(importPath) ? importPath : path.join(root, importPath);
      if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, "utf8") };
    }
    return { error: `File not found: ${importPath}` };
  };

  const chunks = [];
  process.stdin.on("data", (chunk) => chunks.push(chunk));
  process.stdin.on("end", () => {
    const input = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    for (const [name, source] of Object.entries(input.sources || {})) {
      if (typeof source.content !== "string") continue;
      inlineSources.set(name, source.content);
      input.sources[name] = { urls: [name] };
    }
    process.stdout.write(solc.compile(JSON.stringify(input), { import: readImport }));
  });
} else {
  process.stderr.write("usage: solc.js --version | --standard-json [--base-path P] [--allow-paths A,B]\n");
  process.exitCode = 1;
}
