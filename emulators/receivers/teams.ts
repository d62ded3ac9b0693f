import type { EmuRequest, EmuResponse } from "../common/server.js";
import { Receiver, isObject, parseJson, token } from "./receiver.js";

/**
 * Microsoft Teams Workflows webhook ("When a Teams webhook request is received" → post card).
 * Like the real service, the trigger checks the URL's shared-access signature and that the body is
 * JSON, then answers 202 Accepted with an empty body; whether the card can be posted is decided
 * later, inside the flow run — so a bad card is a 202 here too, recorded under `rejected()` as a
 * failed flow run (as it would appear in the flow's run history), never under `accepted()`.
 */
export const ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive";
/** Teams' message size limit (~28 KB). */
const TEAMS_MAX_CARD_BYTES = 28 * 1024;
const SUPPORTED_CARD_VERSIONS = new Set(["1.0", "1.1", "1.2", "1.3", "1.4", "1.5"]);

export interface TeamsPost {
  workflowId: string;
  cards: Record<string, unknown>[];
  message: Record<string, unknown>;
}

interface Workflow {
  id: string;
  sig: string;
  enabled: boolean;
}

export class TeamsReceiver extends Receiver<TeamsPost> {
  private readonly workflows = new Map<string, Workflow>();

  constructor(options: { verbose?: boolean } = {}) {
    super("teams-workflows", options.verbose);
    this.server.route("POST", /^\/powerautomate\/automations\/direct\/workflows\/([^/]+)\/triggers\/manual\/paths\/invoke$/, (req) => this.invoke(req));
    this.server.route("POST", /^\/_control\/workflows$/, () => ({ status: 201, body: { url: this.createWorkflow() } }));
  }

  /** A new workflow; returns its webhook URL (the secret to store in Key Vault). */
  createWorkflow(): string {
    const wf: Workflow = { id: token(16, "hex"), sig: token(32), enabled: true };
    this.workflows.set(wf.id, wf);
    return `${this.url}/powerautomate/automations/direct/workflows/${wf.id}/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${wf.sig}`;
  }

  /** The flow is turned off by its owner (or orphaned). */
  disableWorkflow(url: string): void {
    const wf = this.workflows.get(workflowIdOf(url));
    if (wf) wf.enabled = false;
  }

  deleteWorkflow(url: string): void {
    this.workflows.delete(workflowIdOf(url));
  }

  private invoke(req: EmuRequest): EmuResponse {
    const wf = this.workflows.get(req.params[0] ?? "");
    if (!wf) {
      return this.reject(req, err(404, "WorkflowNotFound", `The workflow '${req.params[0]}' could not be found.`), "WorkflowNotFound");
    }
    if (!req.query.get("api-version")) {
      return this.reject(
        req,
        err(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests."),
        "MissingApiVersionParameter",
      );
    }
    const sig = req.query.get("sig");
    if (!sig) {
      return this.reject(
        req,
        err(401, "DirectApiAuthorizationRequired", "The request must be authenticated only by Shared Access scheme."),
        "DirectApiAuthorizationRequired",
      );
    }
    if (sig !== wf.sig) {
      return this.reject(
        req,
        err(401, "DirectApiInvalidAuthorizationSignature", "The provided authorization signature is invalid."),
        "DirectApiInvalidAuthorizationSignature",
      );
    }
    if (!wf.enabled) {
      return this.reject(
        req,
        err(409, "WorkflowTriggerIsNotEnabled", `The workflow '${wf.id}' cannot be triggered because it is disabled.`),
        "WorkflowTriggerIsNotEnabled",
      );
    }
    const parsed = parseJson(req.rawBody);
    if (!parsed.ok) {
      return this.reject(req, err(400, "InvalidRequestContent", "The request content is not valid and could not be deserialized."), "InvalidRequestContent");
    }
    const problem = validateMessage(parsed.value);
    if (problem) {
      // The trigger accepted it; the "post card" action fails in the flow run.
      this.reject(req, { status: 202 }, `flow run failed: ${problem}`);
      return { status: 202 };
    }
    const message = parsed.value as Record<string, unknown>;
    const cards = (message["attachments"] as { content: Record<string, unknown> }[]).map((a) => a.content);
    this.accept(req, { workflowId: wf.id, cards, message }, ["content-type"]);
    return { status: 202 };
  }
}

function workflowIdOf(url: string): string {
  return /\/workflows\/([^/]+)\//.exec(new URL(url).pathname)?.[1] ?? "";
}

function err(status: number, code: string, message: string): EmuResponse {
  return { status, body: { error: { code, message } } };
}

/** What the Workflows "post card" step needs: Adaptive Card attachments Teams can render. */
function validateMessage(v: unknown): string | undefined {
  if (!isObject(v)) return "the body is not a JSON object";
  const attachments = v["attachments"];
  if (!Array.isArray(attachments) || attachments.length === 0) return "attachments must be a non-empty array";
  for (const [n, a] of attachments.entries()) {
    if (!isObject(a)) return `attachments[${n}] is not an object`;
    if (a["contentType"] !== ADAPTIVE_CARD) return `attachments[${n}].contentType must be ${ADAPTIVE_CARD} (Workflows post Adaptive Cards only)`;
    const card = a["content"];
    if (!isObject(card)) return `attachments[${n}].content must be an Adaptive Card object`;
    if (card["type"] !== "AdaptiveCard") return `attachments[${n}].content.type must be AdaptiveCard`;
    if (typeof card["version"] !== "string" || !SUPPORTED_CARD_VERSIONS.has(card["version"])) return `attachments[${n}].content.version must be 1.0–1.5`;
    if (!Array.isArray(card["body"])) return `attachments[${n}].content.body must be an array`;
    if (Buffer.byteLength(JSON.stringify(card)) > TEAMS_MAX_CARD_BYTES) return `attachments[${n}] exceeds the Teams message size limit (28 KB)`;
    for (const [k, el] of (card["body"] as unknown[]).entries()) {
      const p = validateElement(el, `body[${k}]`);
      if (p) return p;
    }
    const actions = card["actions"];
    if (actions !== undefined) {
      if (!Array.isArray(actions)) return "actions must be an array";
      for (const [k, act] of actions.entries()) {
        if (!isObject(act) || typeof act["type"] !== "string") return `actions[${k}] has no type`;
        if (act["type"] === "Action.OpenUrl" && !isAbsoluteUrl(act["url"])) return `actions[${k}] Action.OpenUrl needs an absolute url`;
      }
    }
  }
  return undefined;
}

function validateElement(el: unknown, where: string): string | undefined {
  if (!isObject(el) || typeof el["type"] !== "string") return `${where} has no type`;
  switch (el["type"]) {
    case "TextBlock":
      return typeof el["text"] === "string" && el["text"] !== "" ? undefined : `${where} TextBlock needs a non-empty text`;
    case "FactSet": {
      const facts = el["facts"];
      if (!Array.isArray(facts)) return `${where} FactSet needs facts`;
      return facts.every((f) => isObject(f) && typeof f["title"] === "string" && typeof f["value"] === "string")
        ? undefined
        : `${where} FactSet facts need string title and value`;
    }
    case "Container":
    case "ColumnSet":
    case "Column":
    case "Image":
    case "ActionSet":
    case "RichTextBlock":
    case "Table":
      return undefined;
    default:
      return `${where} has unknown element type ${String(el["type"])}`;
  }
}

function isAbsoluteUrl(v: unknown): boolean {
  if (typeof v !== "string") return false;
  try {
    return /^https?:$/.test(new URL(v).protocol);
  } catch {
    return false;
  }
}
