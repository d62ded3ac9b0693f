import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Signing for the generic webhook: `X-Rotator-Signature: sha256=<hex HMAC-SHA256(key, timestamp + "." + body)>`
 * with `X-Rotator-Timestamp` in Unix seconds. Signing the timestamp with the body lets a receiver
 * refuse a captured request replayed later: outside the tolerance window it no longer verifies.
 */
export const SIGNATURE_HEADER = "X-Rotator-Signature";
export const TIMESTAMP_HEADER = "X-Rotator-Timestamp";
export const DELIVERY_HEADER = "X-Rotator-Delivery";
export const EVENT_HEADER = "X-Rotator-Event";
const DEFAULT_TOLERANCE_SEC = 300;

export function signWebhook(key: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", key).update(`${timestamp}.${body}`, "utf8").digest("hex")}`;
}

export type SignatureCheck =
  { valid: true } | { valid: false; reason: "missing_signature" | "malformed_signature" | "malformed_timestamp" | "stale_timestamp" | "signature_mismatch" };

export interface VerifyWebhookSignatureOptions {
  key: string;
  /** The X-Rotator-Timestamp header (Unix seconds). */
  timestamp: string | undefined;
  /** The raw request body, exactly as received. */
  body: string;
  /** The X-Rotator-Signature header. */
  signature: string | undefined;
  /** How far the timestamp may be from `now`, either way; default 300 s. */
  toleranceSec?: number;
  now?: Date;
}

/** Verifies a delivery in constant time; refuses one whose timestamp is outside the tolerance (a replay). */
export function verifyWebhookSignature(o: VerifyWebhookSignatureOptions): SignatureCheck {
  if (!o.signature) return { valid: false, reason: "missing_signature" };
  const m = /^sha256=([0-9a-f]{64})$/.exec(o.signature.trim());
  if (!m) return { valid: false, reason: "malformed_signature" };
  if (!o.timestamp || !/^\d{1,12}$/.test(o.timestamp.trim())) return { valid: false, reason: "malformed_timestamp" };
  const ts = Number(o.timestamp.trim());
  const now = Math.floor((o.now ?? new Date()).getTime() / 1000);
  if (Math.abs(now - ts) > (o.toleranceSec ?? DEFAULT_TOLERANCE_SEC)) return { valid: false, reason: "stale_timestamp" };
  const expected = Buffer.from(signWebhook(o.key, o.timestamp.trim(), o.body).slice("sha256=".length), "hex");
  const given = Buffer.from(m[1]!, "hex");
  return expected.length === given.length && timingSafeEqual(expected, given) ? { valid: true } : { valid: false, reason: "signature_mismatch" };
}
