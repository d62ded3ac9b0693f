import { existsSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";

/**
 * The one way a test finds and starts Chromium (issue 21), in this order:
 * 1. `CHROMIUM_PATH`, when set (it must exist: a typo is an error, never a silent fallback);
 * 2. a system `chromium` or `chromium-browser` on `PATH`;
 * 3. the build that `@sparticuz/chromium` (a pinned devDependency) carries inside the npm package,
 *    unpacked once to the temp directory, so `npm ci` alone brings a browser: no apt step, no
 *    download at run time.
 */
export interface ResolvedChromium {
  source: "CHROMIUM_PATH" | "PATH" | "@sparticuz/chromium";
  executablePath: string;
  args: string[];
}

/**
 * Flags for a machine whose network is closed: without the background-networking ones Chromium
 * keeps opening refused connections (component updates, sync, Google lookups) at every start.
 */
const QUIET_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export async function resolveChromium(env: NodeJS.ProcessEnv = process.env): Promise<ResolvedChromium> {
  const fromEnv = env["CHROMIUM_PATH"];
  if (fromEnv) {
    if (!existsSync(fromEnv)) {
      throw new Error(
        `CHROMIUM_PATH names ${fromEnv}, which does not exist: point it at a Chromium binary, or unset it to use the one npm ci installs (@sparticuz/chromium)`,
      );
    }
    return { source: "CHROMIUM_PATH", executablePath: fromEnv, args: QUIET_FLAGS };
  }
  const onPath = (env["PATH"] ?? "")
    .split(path.delimiter)
    .filter(Boolean)
    .flatMap((dir) => [path.join(dir, "chromium"), path.join(dir, "chromium-browser")])
    .find((p) => existsSync(p));
  if (onPath) return { source: "PATH", executablePath: onPath, args: QUIET_FLAGS };

  let packaged: typeof import("@sparticuz/chromium").default;
  try {
    packaged = (await import("@sparticuz/chromium")).default;
  } catch (e) {
    throw new Error(
      `No Chromium: CHROMIUM_PATH is unset, none is on PATH, and @sparticuz/chromium cannot be loaded (${String(e)}). Run \`npm ci\`, which installs it from the lock file.`,
    );
  }
  // The package's own flags (single process, no zygote, its bundled fonts and SwiftShader) are
  // the ones it is built and tested with; ours only add the closed-network ones.
  const executablePath = await packaged.executablePath();
  return { source: "@sparticuz/chromium", executablePath, args: [...new Set([...packaged.args, ...QUIET_FLAGS])] };
}

/** Resolves, launches headless, and logs which browser and version the tests run on. */
export async function launchChromium(log: (line: string) => void = (l) => console.log(l)): Promise<Browser> {
  const resolved = await resolveChromium();
  const browser = await chromium.launch({ executablePath: resolved.executablePath, args: resolved.args, headless: true });
  log(`[browser] Chromium ${browser.version()} from ${resolved.source} (${resolved.executablePath})`);
  return browser;
}
