import type { EmuRequest, EmuResponse } from "../common/server.js";
import { Receiver, isObject, parseJson, token } from "./receiver.js";

/**
 * PagerDuty Events API v2 (`POST /v2/enqueue`) and Change Events (`POST /v2/change/enqueue`).
 * 202 `{status:"success", message:"Event processed", dedup_key}`; 400 `{status:"invalid event",
 * message:"Event object is invalid", errors:[…]}`; unparseable JSON → 400 `{status:"Unrecognized
 * object", …}`; 429 and 5xx through faults. Keeps the alert state per dedup_key so tests can see
 * what an on-call engineer would: triggered, how often, at what severity, resolved.
 */
const PD_LIMITS = { routingKey: 32, dedupKey: 255, summary: 1024, eventBytes: 512 * 1024 } as const;
const SEVERITIES = ["critical", "error", "warning", "info"];
const ACTIONS = ["trigger", "acknowledge", "resolve"];

export interface PagerDutyEvent {
  kind: "alert" | "change";
  routing_key: string;
  event_action?: string;
  dedup_key?: string;
  payload?: Record<string, unknown>;
  links?: unknown[];
  client?: string;
  client_url?: string;
}

export interface PagerDutyAlertState {
  dedupKey: string;
  status: "triggered" | "acknowledged" | "resolved";
  severity: string;
  summary: string;
  /** Trigger events received (the first plus deduplicated ones). */
  triggers: number;
  /** Times a new alert was created for this key (a trigger after a resolve opens a new one). */
  opened: number;
}

export class PagerDutyReceiver extends Receiver<PagerDutyEvent> {
  private readonly keys = new Set<string>();
  private readonly alertState = new Map<string, PagerDutyAlertState>();

  constructor(options: { verbose?: boolean } = {}) {
    super("pagerduty-events", options.verbose);
    this.server.route("POST", /^\/v2\/enqueue$/, (req) => this.enqueue(req, "alert"));
    this.server.route("POST", /^\/v2\/change\/enqueue$/, (req) => this.enqueue(req, "change"));
    this.server.route("POST", /^\/_control\/integrations$/, () => ({ status: 201, body: { routingKey: this.createIntegration() } }));
    this.server.route("GET", /^\/_control\/alerts$/, () => ({ status: 200, body: { alerts: this.alerts() } }));
  }

  /** The events URL to configure (`eventsUrl`). */
  get eventsUrl(): string {
    return `${this.url}/v2/enqueue`;
  }

  /** A new Events API v2 integration; returns its 32-character integration (routing) key. */
  createIntegration(): string {
    const key = token(16, "hex");
    this.keys.add(key);
    return key;
  }

  removeIntegration(key: string): void {
    this.keys.delete(key);
  }

  alerts(): PagerDutyAlertState[] {
    return [...this.alertState.values()].map((a) => ({ ...a }));
  }

  alert(dedupKey: string): PagerDutyAlertState | undefined {
    const a = this.alertState.get(dedupKey);
    return a ? { ...a } : undefined;
  }

  private enqueue(req: EmuRequest, kind: "alert" | "change"): EmuResponse {
    if (Buffer.byteLength(req.rawBody) > PD_LIMITS.eventBytes) return this.invalid(req, ["Event object is too large (maximum 512 KB)"]);
    const parsed = parseJson(req.rawBody);
    if (!parsed.ok || !isObject(parsed.value)) {
      return this.reject(
        req,
        { status: 400, body: { status: "Unrecognized object", message: "Event object format is unrecognized", errors: ["JSON parse error"] } },
        "JSON parse error",
      );
    }
    const ev = parsed.value;
    const errors: string[] = [];
    const rk = ev["routing_key"];
    if (typeof rk !== "string" || rk.trim() === "") errors.push("'routing_key' is missing or blank");
    else if (rk.length !== PD_LIMITS.routingKey) errors.push(`Length of 'routing_key' is incorrect (should be ${PD_LIMITS.routingKey} characters)`);
    else if (!this.keys.has(rk)) errors.push("Invalid routing key");
    if (errors.length) return this.invalid(req, errors);

    return kind === "change" ? this.change(req, ev) : this.alertEvent(req, ev);
  }

  private alertEvent(req: EmuRequest, ev: Record<string, unknown>): EmuResponse {
    const errors: string[] = [];
    const action = ev["event_action"];
    if (typeof action !== "string" || action === "") errors.push("'event_action' is missing or blank");
    else if (!ACTIONS.includes(action)) errors.push(`'event_action' is invalid (must be one of: ${ACTIONS.join(", ")})`);
    const dedup = ev["dedup_key"];
    if (dedup !== undefined && (typeof dedup !== "string" || dedup.length > PD_LIMITS.dedupKey)) {
      errors.push(`Length of 'dedup_key' is too long (should be at most ${PD_LIMITS.dedupKey} characters)`);
    }
    if (action === "trigger") errors.push(...payloadErrors(ev["payload"], true));
    else if (typeof dedup !== "string" || dedup.trim() === "") errors.push("'dedup_key' is missing or blank");
    if (errors.length) return this.invalid(req, errors);

    const key = typeof dedup === "string" && dedup !== "" ? dedup : token(16, "hex");
    const existing = this.alertState.get(key);
    if (action === "trigger") {
      const p = ev["payload"] as Record<string, unknown>;
      if (!existing || existing.status === "resolved") {
        this.alertState.set(key, {
          dedupKey: key,
          status: "triggered",
          severity: String(p["severity"]),
          summary: String(p["summary"]),
          triggers: 1,
          opened: (existing?.opened ?? 0) + 1,
        });
      } else {
        existing.triggers++;
        existing.severity = String(p["severity"]);
        existing.summary = String(p["summary"]);
      }
    } else if (existing && existing.status !== "resolved") {
      // acknowledge/resolve of an unknown or resolved alert is accepted and has no effect, as on PagerDuty.
      existing.status = action === "resolve" ? "resolved" : "acknowledged";
    }
    this.accept(req, { kind: "alert", ...(ev as Omit<PagerDutyEvent, "kind">), dedup_key: key }, ["content-type", "user-agent"]);
    return { status: 202, body: { status: "success", message: "Event processed", dedup_key: key } };
  }

  private change(req: EmuRequest, ev: Record<string, unknown>): EmuResponse {
    const errors = payloadErrors(ev["payload"], false);
    if (errors.length) return this.invalid(req, errors);
    this.accept(req, { kind: "change", ...(ev as Omit<PagerDutyEvent, "kind">) }, ["content-type", "user-agent"]);
    return { status: 202, body: { status: "success", message: "Change event processed" } };
  }

  private invalid(req: EmuRequest, errors: string[]): EmuResponse {
    return this.reject(req, { status: 400, body: { status: "invalid event", message: "Event object is invalid", errors } }, errors.join("; "));
  }
}

function payloadErrors(p: unknown, alert: boolean): string[] {
  if (!isObject(p)) return ["'payload' is missing or blank"];
  const errors: string[] = [];
  const summary = p["summary"];
  if (typeof summary !== "string" || summary.trim() === "") errors.push("'payload.summary' is missing or blank");
  else if (summary.length > PD_LIMITS.summary) errors.push(`Length of 'payload.summary' is too long (should be at most ${PD_LIMITS.summary} characters)`);
  if (alert) {
    if (typeof p["source"] !== "string" || p["source"].trim() === "") errors.push("'payload.source' is missing or blank");
    if (typeof p["severity"] !== "string" || p["severity"] === "") errors.push("'payload.severity' is missing or blank");
    else if (!SEVERITIES.includes(p["severity"])) errors.push(`'payload.severity' is invalid (must be one of: ${SEVERITIES.join(", ")})`);
  }
  if (p["timestamp"] !== undefined && (typeof p["timestamp"] !== "string" || Number.isNaN(Date.parse(p["timestamp"])))) {
    errors.push("'payload.timestamp' is not a valid ISO 8601 timestamp");
  }
  if (p["custom_details"] !== undefined && !isObject(p["custom_details"]) && typeof p["custom_details"] !== "string") {
    errors.push("'payload.custom_details' must be an object");
  }
  return errors;
}
