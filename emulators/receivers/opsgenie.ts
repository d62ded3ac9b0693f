import type { EmuRequest, EmuResponse } from "../common/server.js";
import { Receiver, isObject, parseJson, randomUUID } from "./receiver.js";

/**
 * Opsgenie Alert API (`api.opsgenie.com` / `api.eu.opsgenie.com`). Authentication is
 * `Authorization: GenieKey <API integration key>` (401 "Could not authenticate" otherwise). Writes
 * are asynchronous: 202 `{result:"Request will be processed", took, requestId}`, and whether they
 * worked is read from `GET /v2/alerts/requests/{requestId}` — closing an unknown alias is a 202
 * whose request status fails, as on Opsgenie. Body rules answer 422 with field `errors`.
 */
/** The documented maximum length of each optional string field of a create request (Opsgenie "Create Alert" field table). */
const STRING_FIELD_MAX: Readonly<Record<string, number>> = { alias: 512, description: 15_000, entity: 512, source: 100, user: 100, note: 25_000 };
/** The other documented limits: message length, tag count and length, and the details map's total size. */
const L = { message: 130, tags: 20, tag: 50, detailsTotal: 8000, note: 25_000 } as const;
const PRIORITIES = ["P1", "P2", "P3", "P4", "P5"];
const IDENTIFIER_TYPES = ["id", "alias", "tiny"];

export interface OpsgenieRequest {
  action: "create" | "close" | "priority" | "note";
  /** alias (or id) the request addresses; for create the alias in the body. */
  identifier?: string;
  body: Record<string, unknown>;
}

export interface OpsgenieAlertState {
  id: string;
  alias: string;
  status: "open" | "closed";
  message: string;
  priority: string;
  /** Creates received while open (Opsgenie's dedup count). */
  count: number;
  notes: string[];
}

interface RequestStatus {
  success: boolean;
  action: string;
  status: string;
  alertId?: string;
  alias?: string;
  processedAt: string;
}

export class OpsgenieReceiver extends Receiver<OpsgenieRequest> {
  private readonly keys = new Map<string, { enabled: boolean }>();
  /** Current alert per alias; closed alerts stay until a create with the alias opens a new one. */
  private readonly byAlias = new Map<string, OpsgenieAlertState>();
  private readonly history: OpsgenieAlertState[] = [];
  private readonly requests = new Map<string, RequestStatus>();

  constructor(options: { verbose?: boolean } = {}) {
    super("opsgenie-alerts", options.verbose);
    this.server.route("POST", /^\/v2\/alerts$/, (req) => this.authed(req, () => this.create(req)));
    this.server.route("POST", /^\/v2\/alerts\/([^/]+)\/close$/, (req) => this.authed(req, () => this.closeAlert(req)));
    this.server.route("PUT", /^\/v2\/alerts\/([^/]+)\/priority$/, (req) => this.authed(req, () => this.priority(req)));
    this.server.route("POST", /^\/v2\/alerts\/([^/]+)\/notes$/, (req) => this.authed(req, () => this.note(req)));
    this.server.route("GET", /^\/v2\/alerts\/requests\/([^/]+)$/, (req) => this.authed(req, () => this.requestStatus(req)));
    this.server.route("POST", /^\/_control\/integrations$/, () => ({ status: 201, body: { apiKey: this.createIntegration() } }));
    this.server.route("GET", /^\/_control\/alerts$/, () => ({ status: 200, body: { alerts: this.alerts() } }));
  }

  /** A new API integration; returns its key. */
  createIntegration(): string {
    const key = randomUUID();
    this.keys.set(key, { enabled: true });
    return key;
  }

  disableIntegration(key: string): void {
    const k = this.keys.get(key);
    if (k) k.enabled = false;
  }

  /** Every alert ever created (a re-open after close is a new alert). */
  alerts(): OpsgenieAlertState[] {
    return this.history.map((a) => ({ ...a, notes: [...a.notes] }));
  }

  alert(alias: string): OpsgenieAlertState | undefined {
    const a = this.byAlias.get(alias);
    return a ? { ...a, notes: [...a.notes] } : undefined;
  }

  private authed(req: EmuRequest, handler: () => EmuResponse): EmuResponse {
    const m = /^GenieKey\s+(\S+)$/i.exec(String(req.headers["authorization"] ?? ""));
    const key = m ? this.keys.get(m[1]!) : undefined;
    if (!key || !key.enabled) return this.reject(req, answer(401, { message: "Could not authenticate" }), "Could not authenticate");
    return handler();
  }

  private body(req: EmuRequest): Record<string, unknown> | EmuResponse {
    if (req.rawBody.trim() === "") return {};
    const parsed = parseJson(req.rawBody);
    if (!parsed.ok || !isObject(parsed.value)) return this.reject(req, answer(400, { message: "Invalid JSON body" }), "Invalid JSON body");
    return parsed.value;
  }

  private unprocessable(req: EmuRequest, errors: Record<string, string>): EmuResponse {
    return this.reject(
      req,
      answer(422, { message: "Request body is not processable. Please check the errors.", errors }),
      Object.entries(errors)
        .map(([k, v]) => `${k}: ${v}`)
        .join("; "),
    );
  }

  private create(req: EmuRequest): EmuResponse {
    const b = this.body(req);
    if ("status" in b && typeof b.status === "number") return b as EmuResponse;
    const body = b as Record<string, unknown>;
    const errors: Record<string, string> = {};
    const msg = body["message"];
    if (typeof msg !== "string" || msg.trim() === "") errors["message"] = "Message can not be empty.";
    else if (msg.length > L.message) errors["message"] = `Message can not be longer than ${L.message} characters.`;
    const str = (field: string, max: number): void => {
      const v = body[field];
      if (v === undefined) return;
      if (typeof v !== "string") errors[field] = `${field} must be a string.`;
      else if (v.length > max) errors[field] = `${field} can not be longer than ${max} characters.`;
    };
    for (const [field, max] of Object.entries(STRING_FIELD_MAX)) str(field, max);
    const priority = body["priority"];
    if (priority !== undefined && (typeof priority !== "string" || !PRIORITIES.includes(priority)))
      errors["priority"] = `should be one of [${PRIORITIES.join(", ")}]`;
    const tags = body["tags"];
    if (tags !== undefined) {
      if (!Array.isArray(tags) || tags.some((t) => typeof t !== "string")) errors["tags"] = "tags must be a list of strings.";
      else if (tags.length > L.tags) errors["tags"] = `At most ${L.tags} tags can be given.`;
      else if (tags.some((t: string) => t.length > L.tag)) errors["tags"] = `Tags can not be longer than ${L.tag} characters.`;
    }
    const details = body["details"];
    if (details !== undefined) {
      if (!isObject(details) || Object.values(details).some((v) => typeof v !== "string"))
        errors["details"] = "details must be a map of string keys to string values.";
      else if (Object.entries(details).reduce((n, [k, v]) => n + k.length + (v as string).length, 0) > L.detailsTotal) {
        errors["details"] = `details can not be longer than ${L.detailsTotal} characters in total.`;
      }
    }
    if (Object.keys(errors).length) return this.unprocessable(req, errors);

    const alias = typeof body["alias"] === "string" && body["alias"] !== "" ? body["alias"] : (msg as string);
    const current = this.byAlias.get(alias);
    let alert: OpsgenieAlertState;
    if (current && current.status === "open") {
      // Deduplication: the open alert's count goes up; its fields are not changed.
      current.count++;
      alert = current;
    } else {
      alert = { id: randomUUID(), alias, status: "open", message: msg as string, priority: (priority as string | undefined) ?? "P3", count: 1, notes: [] };
      this.byAlias.set(alias, alert);
      this.history.push(alert);
    }
    this.accept(req, { action: "create", identifier: alias, body }, ["content-type"]);
    return this.queued({ success: true, action: "Create", status: "Created alert", alertId: alert.id, alias });
  }

  private target(req: EmuRequest): { alert?: OpsgenieAlertState; error?: EmuResponse; identifier: string } {
    const identifier = req.params[0] ?? "";
    const type = req.query.get("identifierType") ?? "id";
    if (!IDENTIFIER_TYPES.includes(type)) {
      return { identifier, error: this.unprocessable(req, { identifierType: `should be one of [${IDENTIFIER_TYPES.join(", ")}]` }) };
    }
    const alert = type === "alias" ? this.byAlias.get(identifier) : this.history.find((a) => a.id === identifier);
    return { identifier, ...(alert ? { alert } : {}) };
  }

  private closeAlert(req: EmuRequest): EmuResponse {
    const b = this.body(req);
    if ("status" in b && typeof b.status === "number") return b as EmuResponse;
    const t = this.target(req);
    if (t.error) return t.error;
    const note = (b as Record<string, unknown>)["note"];
    if (note !== undefined && (typeof note !== "string" || note.length > L.note))
      return this.unprocessable(req, { note: `note can not be longer than ${L.note} characters.` });
    this.accept(req, { action: "close", identifier: t.identifier, body: b as Record<string, unknown> }, ["content-type"]);
    if (!t.alert) return this.queued({ success: false, action: "Close", status: "Alert does not exist", alias: t.identifier });
    if (t.alert.status === "open" && typeof note === "string") t.alert.notes.push(note);
    t.alert.status = "closed";
    return this.queued({ success: true, action: "Close", status: "Closed alert", alertId: t.alert.id, alias: t.alert.alias });
  }

  private priority(req: EmuRequest): EmuResponse {
    const b = this.body(req);
    if ("status" in b && typeof b.status === "number") return b as EmuResponse;
    const p = (b as Record<string, unknown>)["priority"];
    if (typeof p !== "string" || !PRIORITIES.includes(p)) return this.unprocessable(req, { priority: `should be one of [${PRIORITIES.join(", ")}]` });
    const t = this.target(req);
    if (t.error) return t.error;
    this.accept(req, { action: "priority", identifier: t.identifier, body: b as Record<string, unknown> }, ["content-type"]);
    if (!t.alert) return this.queued({ success: false, action: "Update Priority", status: "Alert does not exist", alias: t.identifier });
    t.alert.priority = p;
    return this.queued({ success: true, action: "Update Priority", status: "Updated priority", alertId: t.alert.id, alias: t.alert.alias });
  }

  private note(req: EmuRequest): EmuResponse {
    const b = this.body(req);
    if ("status" in b && typeof b.status === "number") return b as EmuResponse;
    const note = (b as Record<string, unknown>)["note"];
    if (typeof note !== "string" || note.trim() === "") return this.unprocessable(req, { note: "Note can not be empty." });
    if (note.length > L.note) return this.unprocessable(req, { note: `note can not be longer than ${L.note} characters.` });
    const t = this.target(req);
    if (t.error) return t.error;
    this.accept(req, { action: "note", identifier: t.identifier, body: b as Record<string, unknown> }, ["content-type"]);
    if (!t.alert) return this.queued({ success: false, action: "Add Note", status: "Alert does not exist", alias: t.identifier });
    t.alert.notes.push(note);
    return this.queued({ success: true, action: "Add Note", status: "Added note", alertId: t.alert.id, alias: t.alert.alias });
  }

  private requestStatus(req: EmuRequest): EmuResponse {
    const s = this.requests.get(req.params[0] ?? "");
    if (!s) return answer(404, { message: "Request not found. It might not be processed, yet." });
    return answer(200, { data: { ...s, isSuccess: s.success } });
  }

  private queued(status: Omit<RequestStatus, "processedAt">): EmuResponse {
    const requestId = randomUUID();
    this.requests.set(requestId, { ...status, processedAt: new Date().toISOString() });
    return { status: 202, body: { result: "Request will be processed", took: 0.005, requestId }, headers: { "X-Request-ID": requestId } };
  }
}

function answer(status: number, body: Record<string, unknown>): EmuResponse {
  const requestId = randomUUID();
  return { status, body: { ...body, took: 0.001, requestId }, headers: { "X-Request-ID": requestId } };
}
