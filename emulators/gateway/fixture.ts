import { randomBytes } from "node:crypto";
import { GatewayEmulator, type GatewayEmulatorOptions } from "./emulator.js";
import { TENANT_HEADER } from "./routes.js";
import { httpsFetch } from "../common/httpsFetch.js";

/**
 * A started gateway emulator with a random API token, plus a raw HTTP caller for contract tests
 * (exact status, headers and body; no retries, raw bodies allowed). Shared by the fidelity and
 * adapter tests.
 */
export interface GatewayFixture {
  emulator: GatewayEmulator;
  url: string;
  apiToken: string;
  tenant: string;
  /** PEM that clients must trust (the emulators' CA); undefined with plainHttp. */
  ca: string | undefined;
  call<T = unknown>(method: string, path: string, options?: RawCallOptions): Promise<RawResponse<T>>;
  close(): Promise<void>;
}

export interface RawResponse<T> {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the text when the body is not JSON. */
  data: T;
  text: string;
}

interface RawCallOptions {
  json?: unknown;
  /** Raw body with its own Content-Type (instead of `json`). */
  body?: { text: string; contentType: string };
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  /** null = send no Authorization header. */
  token?: string | null;
  /** null = send no tenant header. */
  tenant?: string | null;
}

export type GatewayFixtureOptions = Partial<GatewayEmulatorOptions>;

export async function startGatewayFixture(options: GatewayFixtureOptions = {}): Promise<GatewayFixture> {
  const apiToken = options.apiToken ?? `gwtok_${randomBytes(18).toString("base64url")}`;
  const tenant = options.tenant ?? "acme";
  const emulator = new GatewayEmulator({ ...options, apiToken, tenant });
  const url = await emulator.start();
  const send = httpsFetch(emulator.caCertPem);
  return {
    emulator,
    url,
    apiToken,
    tenant,
    ca: emulator.caCertPem,
    async call<T>(method: string, path: string, o: RawCallOptions = {}): Promise<RawResponse<T>> {
      const headers: Record<string, string> = { Accept: "application/json", ...o.headers };
      const token = o.token === undefined ? apiToken : o.token;
      if (token !== null) headers["Authorization"] = `Bearer ${token}`;
      const t = o.tenant === undefined ? tenant : o.tenant;
      if (t !== null) headers[TENANT_HEADER] = t;
      let body: string | undefined;
      if (o.body) {
        headers["Content-Type"] = o.body.contentType;
        body = o.body.text;
      } else if (o.json !== undefined) {
        headers["Content-Type"] = "application/json";
        body = JSON.stringify(o.json);
      }
      const u = new URL(`${url}${path}`);
      for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
      const res = await send(u, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let data: unknown = text;
      try {
        data = text === "" ? "" : JSON.parse(text);
      } catch {
        data = text;
      }
      return { status: res.status, headers: res.headers, data: data as T, text };
    },
    async close() {
      await emulator.close();
    },
  };
}
