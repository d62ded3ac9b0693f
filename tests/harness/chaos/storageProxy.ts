import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Faults on Storage. Azurite is the real thing and has no fault injection, so the product's Blob
 * client talks to Azurite through this loopback proxy, which forwards every request as-is (Shared
 * Key signs the path, not the host) unless a fault is armed. The oracle and the simulator read
 * Azurite directly, so what they see is never distorted by a fault.
 *
 * Fault shapes follow the Blob service's documented error answers
 * (https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes and
 * https://learn.microsoft.com/rest/api/storageservices/common-rest-api-error-codes):
 * 503 ServerBusy / 500 InternalError with an XML <Error> body and `x-ms-error-code`.
 */
export type StorageFaultKind = "status" | "drop" | "dropAfterHandling" | "latency" | "hang";

export interface StorageFault {
  kind: StorageFaultKind;
  /** 500 or 503 for `status`. */
  status?: number;
  /** Requests it applies to. */
  times: number;
  /** Only requests whose "METHOD /path" matches (default: any). */
  route?: string;
}

const ERROR_CODES: Record<number, string> = { 500: "InternalError", 503: "ServerBusy" };

export class StorageFaultProxy {
  private server?: http.Server;
  private faults: StorageFault[] = [];
  private readonly sockets = new Set<import("node:net").Socket>();
  /** Requests answered with a fault, for the schedule's report. */
  injected = 0;

  constructor(private readonly upstream: URL) {}

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  add(fault: StorageFault): void {
    this.faults.push({ ...fault });
  }

  clear(): void {
    this.faults = [];
  }

  pending(): boolean {
    return this.faults.length > 0;
  }

  /** The connection string of the proxy: Azurite's, with the blob endpoint pointing here. */
  static connectionString(azurite: string, proxyUrl: string): string {
    return azurite.replace(/BlobEndpoint=https?:\/\/[^/;]+/, `BlobEndpoint=${proxyUrl}`);
  }

  private take(method: string, url: string): StorageFault | undefined {
    const i = this.faults.findIndex((f) => !f.route || new RegExp(f.route).test(`${method} ${url.split("?")[0]}`));
    const f = this.faults[i];
    if (!f) return undefined;
    if (--f.times <= 0) this.faults.splice(i, 1);
    this.injected++;
    return f;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const fault = this.take(req.method ?? "GET", req.url ?? "/");
    if (process.env["CHAOS_TRACE"]) process.stderr.write(`[storage] ${req.method} ${req.url}${fault ? ` ← ${fault.kind}` : ""}\n`);
    if (fault?.kind === "hang") return; // the client's try timeout ends it
    if (fault?.kind === "drop") {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "status") {
      const status = fault.status ?? 503;
      const code = ERROR_CODES[status] ?? "InternalError";
      req.resume();
      res.writeHead(status, { "Content-Type": "application/xml", "x-ms-error-code": code });
      res.end(
        `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${code === "ServerBusy" ? "The server is busy." : "The server encountered an internal error. Please retry the request."}</Message></Error>`,
      );
      return;
    }
    const forward = (): void => {
      const up = http.request({ host: this.upstream.hostname, port: this.upstream.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
        if (fault?.kind === "dropAfterHandling") {
          // Azurite acted; the client never hears.
          upRes.resume();
          upRes.on("end", () => req.socket.destroy());
          return;
        }
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      });
      up.on("error", () => req.socket.destroy());
      req.pipe(up);
    };
    if (fault?.kind === "latency") setTimeout(forward, 300);
    else forward();
  }
}
