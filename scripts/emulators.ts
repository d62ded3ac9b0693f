/**
 * `npm run emulators` — Azurite plus the Entra/Graph, Key Vault and gateway emulators as one
 * standalone process, seeded with the demo world, for poking at by hand (curl, the SDKs, `func start`
 * with EXTRA_CA_FILE). Prints the URLs and the CA path; Ctrl-C stops everything, Azurite included.
 * Flags: --verbose (log every request), --free-ports (Azurite on free ports instead of 10000-10002),
 * --dir <folder> (where its files go; default .emulators).
 *
 * This is the operator's sandbox: it writes `local.settings.json` for the CLI's `--settings`, and its
 * emulators share one clock that `mcp-sso-rotator sandbox advance <duration>` moves.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { startDemoWorld } from "../tests/harness/demoWorld.js";
import type { World } from "../tests/harness/world.js";

/** `--dir <folder>`: where the sandbox writes its files (default `.emulators`); tests use a temporary one. */
function dirArgument(): string {
  const i = process.argv.indexOf("--dir");
  return path.resolve(i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : ".emulators");
}

async function main(): Promise<void> {
  const root = dirArgument();
  mkdirSync(root, { recursive: true });
  const verbose = process.argv.includes("--verbose");
  // The well-known ports match UseDevelopmentStorage=true; --free-ports avoids a clash with an Azurite already running.
  const free = process.argv.includes("--free-ports");
  const { azurite, world, seeded } = await startDemoWorld({
    azurite: { location: path.join(root, "azurite"), ...(free ? {} : { blobPort: 10000, queuePort: 10001, tablePort: 10002 }) },
    world: { verbose, replicationDelayMs: 5_000 },
  });
  world.shareSandboxClock();
  const caPath = path.join(root, "ca.pem");
  writeFileSync(caPath, world.caCertPem);
  const setsPath = path.join(root, "credential-sets.json");
  writeFileSync(setsPath, JSON.stringify({ sets: [{ ...seeded.set }] }, null, 2));

  console.log("mcp-sso-rotator local emulators are running:");
  console.log(`  Entra + Graph   ${world.entra.server.url}   (tenant ${world.tenantId})`);
  console.log(`  Key Vault       ${world.keyVault.url}`);
  console.log(`  Gateway         ${world.gateway.url}   (tenant header value "${world.gatewayTenant}")`);
  const rx = world.receivers!;
  console.log(
    `  Alert receivers Teams ${rx.teams.url}  Slack ${rx.slack.url}  PagerDuty ${rx.pagerduty.url}  Opsgenie ${rx.opsgenie.url}  webhook ${rx.webhook.url}`,
  );
  console.log(`  Azurite         blob ${azurite.blobUrl}  queue ${azurite.queueUrl}`);
  console.log(`  CA certificate  ${caPath}   (NODE_EXTRA_CA_CERTS / EXTRA_CA_FILE)`);
  console.log(`  credential sets ${setsPath}`);
  console.log(
    `  operator identity: AZURE_TENANT_ID=${world.tenantId} AZURE_CLIENT_ID=${world.operator.clientId} (secret written to ${path.join(root, "operator.env")})`,
  );
  writeFileSync(
    path.join(root, "operator.env"),
    `AZURE_TENANT_ID=${world.tenantId}\nAZURE_CLIENT_ID=${world.operator.clientId}\nAZURE_CLIENT_SECRET=${world.operator.secret}\nAZURE_AUTHORITY_HOST=${world.authorityHost}\n`,
    { mode: 0o600 },
  );
  const settingsPath = path.join(root, "local.settings.json");
  writeFileSync(settingsPath, JSON.stringify(sandboxSettings(world, azurite.connectionString), null, 2), { mode: 0o600 });
  console.log(`  app settings    ${settingsPath}`);
  console.log("  control APIs: <url>/_control/faults, <url>/_control/requests, <url>/_control/clock (see emulators/*/README.md)");
  console.log("Rehearse against it with the operator CLI:");
  console.log(`  npx mcp-sso-rotator status --settings ${shown(settingsPath)}`);
  console.log(`  npx mcp-sso-rotator sandbox advance 25h --settings ${shown(settingsPath)}`);
  console.log("Press Ctrl-C to stop.");

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log("\nstopping emulators and Azurite…");
    await world.stop();
    await azurite.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}

/** A path as the operator would type it: relative inside the working folder, absolute outside it. */
function shown(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel.startsWith("..") || path.isAbsolute(rel) ? file : rel;
}

/**
 * A Functions local.settings.json for the sandbox: the app settings the Function App and the CLI
 * read, pointing at these emulators. Relative paths resolve against this file's folder. The
 * operator's secret is in it, hence mode 0600 (as operator.env).
 */
function sandboxSettings(world: World, storageConnectionString: string): { IsEncrypted: false; Values: Record<string, string> } {
  return {
    IsEncrypted: false,
    Values: {
      FUNCTIONS_WORKER_RUNTIME: "node",
      AzureWebJobsStorage: storageConnectionString,
      STORAGE_CONTAINER: "mcp-sso-rotator",
      CREDENTIAL_SETS_FILE: "credential-sets.json",
      EXTRA_CA_FILE: "ca.pem",
      AZURE_TENANT_ID: world.tenantId,
      AZURE_CLIENT_ID: world.operator.clientId,
      AZURE_CLIENT_SECRET: world.operator.secret,
      AZURE_AUTHORITY_HOST: world.authorityHost,
      SANDBOX_CLOCK_URL: `${world.entra.server.url}/_control/clock`,
    },
  };
}

main().catch((e: unknown) => {
  console.error(`emulators failed to start: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
