#!/usr/bin/env node
// The operator CLI's executable. When `npm run build` has written the CLI bundle (dist/cli/index.js)
// and nothing under src/ is newer, it runs that: no TypeScript is compiled at start, and `--help`
// answers in about 0.1 s instead of 6–7 s (issue 25). Otherwise, and always for `--emulators` (a
// development tool only the dev entry carries), it runs the TypeScript entry through tsx from
// node_modules, so `npx mcp-sso-rotator` works in a clone right after `npm ci`, with no build step:
// the dev entry scripts/cli.ts (the CLI plus `--emulators`), or where scripts/ is absent the
// production entry src/cli/index.ts (no emulators: src/ never imports them).
// npx puts node_modules/.bin first on PATH, so `node` above is the pinned Node 22 devDependency; a
// direct call with an older system Node is re-run on that Node 22.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";

const self = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(self), "..");
const major = Number(process.versions.node.split(".")[0]);

if (major < 22) {
  const node22 = path.join(root, "node_modules", ".bin", "node");
  if (!existsSync(node22) || process.env.MCP_SSO_ROTATOR_REEXEC === "1") {
    process.stderr.write(`mcp-sso-rotator needs Node.js 22 or later (found ${process.version}); run \`npm ci\` to install the pinned one\n`);
    process.exit(2);
  }
  const r = spawnSync(node22, [self, ...process.argv.slice(2)], { stdio: "inherit", env: { ...process.env, MCP_SSO_ROTATOR_REEXEC: "1" } });
  process.exit(r.status ?? 1);
}

/** The newest modification time of any file under `dir` (a stale bundle must never run). */
function newestUnder(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestUnder(full) : statSync(full).mtimeMs);
  }
  return newest;
}

const bundle = path.join(root, "dist", "cli", "index.js");
const srcDir = path.join(root, "src");
const wantsEmulators = process.argv.slice(2).includes("--emulators");
if (!wantsEmulators && existsSync(bundle) && (!existsSync(srcDir) || statSync(bundle).mtimeMs >= newestUnder(srcDir))) {
  await import(pathToFileURL(bundle).href);
} else {
  await runTypeScriptEntry();
}

async function runTypeScriptEntry() {
  const { register } = await import("tsx/esm/api");
  register();
  const devEntry = path.join(root, "scripts", "cli.ts");
  await import(pathToFileURL(existsSync(devEntry) ? devEntry : path.join(root, "src", "cli", "index.ts")).href);
}
