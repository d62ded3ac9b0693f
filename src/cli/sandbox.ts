import { systemClock, type Clock } from "../clock.js";
import { isLoopbackUrl } from "../config/outbound.js";
import { RotatorError } from "../errors.js";
import { HttpClient } from "../http/client.js";
import type { ExtraCa } from "../http/tls.js";

/**
 * The operator sandbox's shared clock (`npm run emulators`). The emulators keep one clock and
 * answer `GET|POST <SANDBOX_CLOCK_URL>`; the CLI reads it once per command, so what it decides
 * (grace periods, expiry horizons, incident ages) agrees with what the emulators decide. Only a
 * loopback URL is accepted: a real deployment's time is never anyone's to move.
 */
const SANDBOX_CLOCK_SETTING = "SANDBOX_CLOCK_URL";

/** How long the CLI waits for the sandbox's clock before giving up (a loopback call). */
const CLOCK_READ_TIMEOUT_MS = 5_000;

/** The sandbox clock's URL from the app settings, or undefined outside the sandbox; a non-loopback URL is refused. */
export function sandboxClockUrl(values: Record<string, string | undefined>): string | undefined {
  const url = values[SANDBOX_CLOCK_SETTING]?.trim();
  if (!url) return undefined;
  if (!isLoopbackUrl(url)) {
    throw new RotatorError("SANDBOX_ONLY", `${SANDBOX_CLOCK_SETTING} must name the local sandbox (127.0.0.1 or localhost), not ${new URL(url).host}`, {
      hint: "Remove SANDBOX_CLOCK_URL from these app settings: only the sandbox that `npm run emulators` starts has a clock to move.",
    });
  }
  return url;
}

/** The product's clock in the sandbox: the system clock shifted to the emulators' time, as of this call. */
export async function readSandboxClock(url: string, ca: ExtraCa | undefined): Promise<Clock> {
  const { now } = await clockCall(url, ca, "GET");
  const offsetMs = Date.parse(now) - Date.now();
  return { now: () => new Date(Date.now() + offsetMs), sleep: (ms, signal) => systemClock.sleep(ms, signal) };
}

/** Moves the sandbox's shared clock forward; answers its new time. */
export async function advanceSandboxClock(url: string, ca: ExtraCa | undefined, advanceMs: number): Promise<string> {
  return (await clockCall(url, ca, "POST", { advanceMs })).now;
}

async function clockCall(url: string, ca: ExtraCa | undefined, method: "GET" | "POST", json?: unknown): Promise<{ now: string }> {
  const http = new HttpClient({ ...(ca !== undefined ? { ca } : {}), timeoutInMs: CLOCK_READ_TIMEOUT_MS, retry: { maxRetries: 1 } });
  const res = await http.request<{ now?: unknown }>({ method, url, ...(json !== undefined ? { json, idempotent: false } : {}), throwOnHttpError: false });
  const now = res.data?.now;
  if (res.status !== 200 || typeof now !== "string" || !Number.isFinite(Date.parse(now))) {
    throw new RotatorError("SANDBOX_CLOCK_UNREADABLE", `The sandbox clock at ${url} answered ${res.status} without a time`, {
      hint: "Is `npm run emulators` still running? Its settings file is rewritten on every start; pass the current .emulators/local.settings.json.",
    });
  }
  return { now };
}

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `25h`, `90m`, `2d`, `30s` (or a sum such as `1d12h`) → milliseconds; anything else is a usage error. */
export function parseDuration(text: string): number {
  const parts = [...text.trim().matchAll(/(\d+(?:\.\d+)?)([smhd])/g)];
  const total = parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]!]!, 0);
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text.trim() || !(total > 0)) {
    throw new RotatorError("CLI_USAGE", `"${text}" is not a duration`, { hint: "Write a number and a unit: 30s, 90m, 25h, 2d (or a sum such as 1d12h)." });
  }
  return total;
}
