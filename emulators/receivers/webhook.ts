import { systemClock, type Clock } from "../common/clock.js";
import { createHmac, timingSafeEqual } from "node:crypto";
import type { EmuRequest, EmuResponse } from "../common/server.js";
import { Receiver, isJsonContentType, isObject, parseJson, token } from "./receiver.js";

/**
 * A receiver of the generic signed webhook, written the way we tell integrators to write theirs:
 * JSON only, signature checked over the raw body with the shared key, timestamps outside the
 * tolerance refused (a replay), a repeated delivery ID acknowledged but not processed twice.
 */
export interface WebhookEndpoint {
  url: string;
  signingKey: string;
}

interface Endpoint {
  id: string;
  signingKey: string;
  toleranceSec: number;
  seen: Set<string>;
}

/**
 * The receiving side of the README's webhook contract ("Generic webhook (HMAC-signed JSON)"),
 * written from that text and not from `src/alerts`, so a signing bug on either side shows:
 * `X-Rotator-Signature: sha256=<hex HMAC-SHA256(key, timestamp + "." + raw body)>`, `X-Rotator-Timestamp`
 * in Unix seconds within a tolerance (a replay outside it fails), JSON body `{version: 1, id, type, incident}`.
 */
const TIMESTAMP_HEADER = "X-Rotator-Timestamp";
const SIGNATURE_HEADER = "X-Rotator-Signature";
const DELIVERY_HEADER = "X-Rotator-Delivery";
const EVENT_HEADER = "X-Rotator-Event";
const DEFAULT_TOLERANCE_SEC = 300;

export interface WebhookBody {
  version: 1;
  id: string;
  type: string;
  incident: Record<string, unknown>;
  [field: string]: unknown;
}

type SignatureCheck = { valid: true } | { valid: false; reason: string };

function verifySignature(o: { key: string; timestamp?: string; body: string; signature?: string; toleranceSec: number; now: Date }): SignatureCheck {
  if (!o.signature) return { valid: false, reason: "missing_signature" };
  const m = /^sha256=([0-9a-f]{64})$/.exec(o.signature.trim());
  if (!m) return { valid: false, reason: "malformed_signature" };
  const ts = o.timestamp?.trim() ?? "";
  if (!/^\d{1,12}$/.test(ts)) return { valid: false, reason: "malformed_timestamp" };
  if (Math.abs(Math.floor(o.now.getTime() / 1000) - Number(ts)) > o.toleranceSec) return { valid: false, reason: "stale_timestamp" };
  const expected = createHmac("sha256", o.key).update(`${ts}.${o.body}`, "utf8").digest();
  const given = Buffer.from(m[1]!, "hex");
  return expected.length === given.length && timingSafeEqual(expected, given) ? { valid: true } : { valid: false, reason: "signature_mismatch" };
}

export class WebhookReceiver extends Receiver<WebhookBody> {
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly clock: Clock;

  constructor(options: { verbose?: boolean; clock?: Clock } = {}) {
    super("signed-webhook", options.verbose);
    this.clock = options.clock ?? systemClock;
    this.server.route("POST", /^\/hooks\/([^/]+)$/, (req) => this.receive(req));
    this.server.route("POST", /^\/_control\/endpoints$/, () => ({ status: 201, body: this.createEndpoint() }));
  }

  createEndpoint(options: { signingKey?: string; toleranceSec?: number } = {}): WebhookEndpoint {
    const ep: Endpoint = {
      id: token(12, "hex"),
      signingKey: options.signingKey ?? token(32),
      toleranceSec: options.toleranceSec ?? DEFAULT_TOLERANCE_SEC,
      seen: new Set(),
    };
    this.endpoints.set(ep.id, ep);
    return { url: `${this.url}/hooks/${ep.id}`, signingKey: ep.signingKey };
  }

  private receive(req: EmuRequest): EmuResponse {
    const ep = this.endpoints.get(req.params[0] ?? "");
    if (!ep) return this.reject(req, { status: 404, body: { error: "unknown_endpoint" } }, "unknown_endpoint");
    if (!isJsonContentType(req)) return this.reject(req, { status: 415, body: { error: "unsupported_media_type" } }, "unsupported_media_type");
    const header = (h: string): string | undefined => {
      const v = req.headers[h.toLowerCase()];
      return typeof v === "string" ? v : undefined;
    };
    const check = verifySignature({
      key: ep.signingKey,
      timestamp: header(TIMESTAMP_HEADER),
      body: req.rawBody,
      signature: header(SIGNATURE_HEADER),
      toleranceSec: ep.toleranceSec,
      now: this.clock.now(),
    });
    if (!check.valid) return this.reject(req, { status: 401, body: { error: check.reason } }, check.reason);
    const parsed = parseJson(req.rawBody);
    if (!parsed.ok || !isObject(parsed.value)) return this.reject(req, { status: 400, body: { error: "invalid_json" } }, "invalid_json");
    const body = parsed.value;
    if (body["version"] !== 1 || typeof body["id"] !== "string" || typeof body["type"] !== "string" || !isObject(body["incident"])) {
      return this.reject(
        req,
        { status: 400, body: { error: "invalid_body", detail: "version 1 envelope with id, type and incident expected" } },
        "invalid_body",
      );
    }
    // The signed body's id, not the (unsigned) delivery header: a replay cannot dodge the dedup.
    const delivery = body["id"];
    if (ep.seen.has(delivery)) return { status: 200, body: { ok: true, duplicate: true } };
    ep.seen.add(delivery);
    this.accept(req, body as unknown as WebhookBody, [TIMESTAMP_HEADER, SIGNATURE_HEADER, DELIVERY_HEADER, EVENT_HEADER, "content-type"]);
    return { status: 200, body: { ok: true } };
  }
}
