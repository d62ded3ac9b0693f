import http from "node:http";
import https from "node:https";

/**
 * A `fetch` for the emulators' fixtures and fidelity tests that trusts the emulators' CA, on
 * node:https. Node's built-in fetch takes a CA only through an npm `undici` dispatcher, and that
 * pairing breaks when Node's bundled undici changes major version; the project no longer depends
 * on undici. Redirects are never followed (the callers look at 302s themselves).
 */
export interface HttpsFetchInit {
  method?: string;
  headers?: Record<string, string> | Headers | [string, string][];
  body?: string | Uint8Array | URLSearchParams | null;
  signal?: AbortSignal | null;
}

export type HttpsFetch = (input: string | URL | { url: string }, init?: HttpsFetchInit) => Promise<Response>;

const NO_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

export function httpsFetch(ca: string | Buffer | undefined): HttpsFetch {
  const agent = new https.Agent({ keepAlive: false, ...(ca ? { ca } : {}) });
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
      const headers: Record<string, string> = {};
      new Headers(init.headers ?? {}).forEach((v, k) => (headers[k] = v));
      const body = init.body instanceof URLSearchParams ? init.body.toString() : (init.body ?? undefined);
      if (body !== undefined && headers["content-length"] === undefined) headers["content-length"] = String(Buffer.byteLength(body));
      const send = url.protocol === "https:" ? https.request : http.request;
      const req = send(
        url,
        { method: init.method ?? "GET", headers, ...(url.protocol === "https:" ? { agent } : {}), ...(init.signal ? { signal: init.signal } : {}) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => {
            const out = new Headers();
            for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out.set(k, Array.isArray(v) ? v.join(", ") : v);
            const status = res.statusCode ?? 0;
            resolve(new Response(NO_BODY_STATUS.has(status) ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? "", headers: out }));
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/**
 * A bearer call with a JSON body, answered as status, lower-case headers and the parsed body (text
 * when it is not JSON): what fidelity tests compare with the services' documented answers.
 */
export async function rawJsonCall(
  send: HttpsFetch,
  url: string,
  method: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  const res = await send(url, {
    method,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body !== undefined ? { "content-type": "application/json" } : {}),
      ...options.headers,
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await res.text();
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => (headers[k] = v));
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers, body };
}
