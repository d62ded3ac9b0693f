import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import path from "node:path";

/** The well-known Azurite development account (public, documented by Microsoft). */
const AZURITE_ACCOUNT = "devstoreaccount1";
const AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface AzuriteHandle {
  blobUrl: string;
  queueUrl: string;
  tableUrl: string;
  connectionString: string;
  stop(): Promise<void>;
}

export interface StartAzuriteOptions {
  location: string;
  /** 0 (default) picks free ports; `npm run emulators` uses the well-known 10000-10002. */
  blobPort?: number;
  queuePort?: number;
  tablePort?: number;
  /** How long Azurite may take to listen. Several cold starts at once on a loaded 2-core machine (chaos workers) took over 30 s. */
  startTimeoutMs?: number;
}

/** Starts the real Azurite (from npm) as a child process and waits until all three services listen. */
export async function startAzurite(options: StartAzuriteOptions): Promise<AzuriteHandle> {
  mkdirSync(options.location, { recursive: true });
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve("azurite/package.json");
  const pkg = require(pkgPath) as { bin: Record<string, string> };
  const entry = path.resolve(path.dirname(pkgPath), pkg.bin["azurite"] ?? "dist/src/azurite.js");
  const child: ChildProcess = spawn(
    process.execPath,
    [
      entry,
      "--disableTelemetry",
      "--skipApiVersionCheck",
      "--location",
      options.location,
      "--blobHost",
      "127.0.0.1",
      "--queueHost",
      "127.0.0.1",
      "--tableHost",
      "127.0.0.1",
      "--blobPort",
      String(options.blobPort ?? 0),
      "--queuePort",
      String(options.queuePort ?? 0),
      "--tablePort",
      String(options.tablePort ?? 0),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );

  const urls = await new Promise<Record<string, string>>((resolve, reject) => {
    const found: Record<string, string> = {};
    let output = "";
    const timeoutMs = options.startTimeoutMs ?? 90_000;
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`Azurite did not start within ${timeoutMs / 1000} s:\n${output}`));
    }, timeoutMs);
    const onData = (buf: Buffer): void => {
      output += buf.toString();
      for (const m of output.matchAll(/Azurite (Blob|Queue|Table) service is successfully listening at (\S+)/g)) {
        found[m[1]!.toLowerCase()] = m[2]!;
      }
      if (found["blob"] && found["queue"] && found["table"]) {
        clearTimeout(timer);
        resolve(found);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited with code ${code}:\n${output}`));
    });
  });
  child.removeAllListeners("exit");
  // Keep draining output so a full pipe never blocks Azurite.
  child.stdout?.resume();
  child.stderr?.resume();

  const blobUrl = `${urls["blob"]}/${AZURITE_ACCOUNT}`;
  const queueUrl = `${urls["queue"]}/${AZURITE_ACCOUNT}`;
  const tableUrl = `${urls["table"]}/${AZURITE_ACCOUNT}`;
  return {
    blobUrl,
    queueUrl,
    tableUrl,
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
      `BlobEndpoint=${blobUrl};QueueEndpoint=${queueUrl};TableEndpoint=${tableUrl};`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
      }),
  };
}
