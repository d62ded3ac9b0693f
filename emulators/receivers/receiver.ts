import { randomBytes, randomUUID } from "node:crypto";
import { EmulatorServer, ServedEmulator, type EmuRequest, type EmuResponse, type FaultSpec } from "../common/server.js";

/**
 * The shared shape of the alert receivers: an EmulatorServer (fault injection, request log) plus
 * what the receiver accepted and what it refused, readable in-process and over `/_control/*`.
 */
export interface Accepted<T = unknown> {
  at: string;
  method: string;
  path: string;
  body: T;
  /** Request headers that matter for the contract (never Authorization). */
  headers: Record<string, string>;
}

export interface Rejected {
  at: string;
  method: string;
  path: string;
  status: number;
  error: string;
}

export abstract class Receiver<T = unknown> extends ServedEmulator {
  readonly server: EmulatorServer;
  protected readonly acceptedLog: Accepted<T>[] = [];
  protected readonly rejectedLog: Rejected[] = [];

  protected constructor(name: string, verbose = false) {
    super();
    this.server = new EmulatorServer({ name, verbose });
    this.server.route("GET", /^\/_control\/accepted$/, () => ({ status: 200, body: { accepted: this.acceptedLog } }));
    this.server.route("GET", /^\/_control\/rejected$/, () => ({ status: 200, body: { rejected: this.rejectedLog } }));
    this.server.route("DELETE", /^\/_control\/received$/, () => {
      this.reset();
      return { status: 204 };
    });
  }

  accepted(): Accepted<T>[] {
    return [...this.acceptedLog];
  }

  rejected(): Rejected[] {
    return [...this.rejectedLog];
  }

  reset(): void {
    this.acceptedLog.length = 0;
    this.rejectedLog.length = 0;
  }

  fault(spec: FaultSpec): number {
    return this.server.faults.add(spec);
  }

  clearFaults(): void {
    this.server.faults.clear();
  }

  protected accept(req: EmuRequest, body: T, headerNames: string[] = []): void {
    const headers: Record<string, string> = {};
    for (const h of headerNames) {
      const v = req.headers[h.toLowerCase()];
      if (typeof v === "string") headers[h.toLowerCase()] = v;
    }
    this.acceptedLog.push({ at: new Date().toISOString(), method: req.method, path: req.path, body, headers });
  }

  protected reject(req: EmuRequest, response: EmuResponse, error: string): EmuResponse {
    this.rejectedLog.push({ at: new Date().toISOString(), method: req.method, path: req.path, status: response.status, error });
    return response;
  }
}

export function token(bytes: number, encoding: "hex" | "base64url" = "base64url"): string {
  return randomBytes(bytes).toString(encoding);
}

export { randomUUID };

export function isJsonContentType(req: EmuRequest): boolean {
  return /application\/json/i.test(String(req.headers["content-type"] ?? ""));
}

export function parseJson(raw: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch {
    return { ok: false };
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
