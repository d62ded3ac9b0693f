import type { EmuRequest, EmuResponse } from "../common/server.js";
import { Receiver, isObject, parseJson, token } from "./receiver.js";

/**
 * Slack incoming webhooks. Success is 200 with the plain-text body `ok`; failures are plain-text
 * error strings with the status Slack uses: 400 invalid_payload / no_text / invalid_blocks /
 * invalid_blocks_format, 403 invalid_token / action_prohibited, 404 no_service / no_team /
 * channel_not_found, 410 channel_is_archived, 429 rate_limited (inject with `throttle`).
 */
const SLACK_BLOCK_LIMITS = {
  blocks: 50,
  header: 150,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  url: 3000,
  blockId: 255,
} as const;
const MAX_TEXT = 40_000;

export interface SlackPost {
  channel: string;
  text?: string;
  blocks?: Record<string, unknown>[];
}

interface Hook {
  team: string;
  service: string;
  secret: string;
  channel: string;
  revoked: boolean;
}

export class SlackReceiver extends Receiver<SlackPost> {
  private readonly hooks = new Map<string, Hook>();
  private readonly channels = new Map<string, "active" | "archived" | "deleted">();
  private readonly teams = new Set<string>();
  private readonly prohibited = new Set<string>();

  constructor(options: { verbose?: boolean } = {}) {
    super("slack-webhooks", options.verbose);
    this.server.route("POST", /^\/services\/([^/]+)\/([^/]+)\/([^/]+)$/, (req) => this.post(req));
    this.server.route("POST", /^\/_control\/webhooks$/, (req) => {
      const body = parseJson(req.rawBody || "{}");
      const channel = body.ok && isObject(body.value) && typeof body.value["channel"] === "string" ? body.value["channel"] : "#alerts";
      return { status: 201, body: { url: this.createWebhook({ channel }) } };
    });
  }

  /** A new incoming webhook posting to `channel`; returns its URL (the secret for Key Vault). */
  createWebhook(options: { channel?: string } = {}): string {
    const team = `T${token(6, "hex").toUpperCase().slice(0, 9)}`;
    const service = `B${token(6, "hex").toUpperCase().slice(0, 9)}`;
    const channel = options.channel ?? "#alerts";
    const hook: Hook = { team, service, secret: token(18).replace(/[-_]/g, "x").slice(0, 24), channel, revoked: false };
    this.hooks.set(service, hook);
    this.teams.add(team);
    if (!this.channels.has(channel)) this.channels.set(channel, "active");
    return `${this.url}/services/${team}/${service}/${hook.secret}`;
  }

  revoke(url: string): void {
    const hook = this.hooks.get(serviceOf(url));
    if (hook) hook.revoked = true;
  }

  archiveChannel(channel: string): void {
    this.channels.set(channel, "archived");
  }

  deleteChannel(channel: string): void {
    this.channels.set(channel, "deleted");
  }

  /** A workspace admin restricts posting through this webhook. */
  prohibit(url: string): void {
    this.prohibited.add(serviceOf(url));
  }

  /** The next `times` posts get 429 rate_limited with Retry-After. */
  throttle(times: number, retryAfterSeconds = 1): void {
    this.fault({ route: "^POST /services/", status: 429, retryAfterSeconds, body: "rate_limited", times });
  }

  private post(req: EmuRequest): EmuResponse {
    const [team, service, secret] = req.params as [string, string, string];
    const fail = (status: number, error: string): EmuResponse => this.reject(req, text(status, error), error);
    if (!this.teams.has(team)) return fail(404, "no_team");
    const hook = this.hooks.get(service);
    if (!hook || hook.team !== team || hook.revoked) return fail(404, "no_service");
    if (hook.secret !== secret) return fail(403, "invalid_token");
    if (this.prohibited.has(service)) return fail(403, "action_prohibited");
    const state = this.channels.get(hook.channel);
    if (state === "deleted") return fail(404, "channel_not_found");
    if (state === "archived") return fail(410, "channel_is_archived");

    let raw = req.rawBody;
    if (/application\/x-www-form-urlencoded/i.test(String(req.headers["content-type"] ?? ""))) raw = req.form().get("payload") ?? "";
    const parsed = parseJson(raw);
    if (!parsed.ok || !isObject(parsed.value)) return fail(400, "invalid_payload");
    const msg = parsed.value;
    const hasText = typeof msg["text"] === "string" && msg["text"].trim() !== "";
    const blocks = msg["blocks"];
    if (blocks !== undefined && !Array.isArray(blocks)) return fail(400, "invalid_blocks_format");
    if (!hasText && !(Array.isArray(blocks) && blocks.length > 0) && !Array.isArray(msg["attachments"])) return fail(400, "no_text");
    if (Array.isArray(blocks)) {
      const problem = validateBlocks(blocks);
      if (problem) {
        this.reject(req, text(400, "invalid_blocks"), `invalid_blocks: ${problem}`);
        return text(400, "invalid_blocks");
      }
    }
    const post: SlackPost = {
      channel: hook.channel,
      // Slack truncates over-long text rather than refusing it.
      ...(hasText ? { text: (msg["text"] as string).slice(0, MAX_TEXT) } : {}),
      ...(Array.isArray(blocks) ? { blocks: blocks as Record<string, unknown>[] } : {}),
    };
    this.accept(req, post, ["content-type"]);
    return text(200, "ok");
  }
}

function serviceOf(url: string): string {
  return new URL(url).pathname.split("/")[3] ?? "";
}

function text(status: number, body: string): EmuResponse {
  return { status, body, raw: true, headers: { "Content-Type": "text/html" } };
}

/** Block Kit rules for the block types an alert uses; returns the first problem. */
function validateBlocks(blocks: unknown[]): string | undefined {
  const L = SLACK_BLOCK_LIMITS;
  if (blocks.length > L.blocks) return `more than ${L.blocks} blocks`;
  for (const [n, b] of blocks.entries()) {
    const at = `blocks[${n}]`;
    if (!isObject(b) || typeof b["type"] !== "string") return `${at} has no type`;
    if (b["block_id"] !== undefined && (typeof b["block_id"] !== "string" || b["block_id"].length > L.blockId)) return `${at}.block_id is invalid`;
    switch (b["type"]) {
      case "header": {
        const p = textObject(b["text"], `${at}.text`, L.header, ["plain_text"]);
        if (p) return p;
        break;
      }
      case "section": {
        if (b["text"] === undefined && b["fields"] === undefined) return `${at} needs text or fields`;
        if (b["text"] !== undefined) {
          const p = textObject(b["text"], `${at}.text`, L.sectionText, ["plain_text", "mrkdwn"]);
          if (p) return p;
        }
        if (b["fields"] !== undefined) {
          const f = b["fields"];
          if (!Array.isArray(f) || f.length === 0 || f.length > L.fields) return `${at}.fields must hold 1–${L.fields} items`;
          for (const [k, x] of f.entries()) {
            const p = textObject(x, `${at}.fields[${k}]`, L.fieldText, ["plain_text", "mrkdwn"]);
            if (p) return p;
          }
        }
        break;
      }
      case "context": {
        const e = b["elements"];
        if (!Array.isArray(e) || e.length === 0 || e.length > L.contextElements) return `${at}.elements must hold 1–${L.contextElements} items`;
        for (const [k, x] of e.entries()) {
          if (isObject(x) && x["type"] === "image") continue;
          const p = textObject(x, `${at}.elements[${k}]`, L.sectionText, ["plain_text", "mrkdwn"]);
          if (p) return p;
        }
        break;
      }
      case "actions": {
        const e = b["elements"];
        if (!Array.isArray(e) || e.length === 0 || e.length > L.actionsElements) return `${at}.elements must hold 1–${L.actionsElements} items`;
        for (const [k, x] of e.entries()) {
          if (!isObject(x) || x["type"] !== "button") return `${at}.elements[${k}] must be a button`;
          const p = textObject(x["text"], `${at}.elements[${k}].text`, L.buttonText, ["plain_text"]);
          if (p) return p;
          if (x["url"] !== undefined && (typeof x["url"] !== "string" || x["url"].length > L.url || !/^https?:\/\//.test(x["url"])))
            return `${at}.elements[${k}].url is invalid`;
        }
        break;
      }
      case "divider":
        break;
      default:
        return `${at} has unsupported type ${String(b["type"])}`;
    }
  }
  return undefined;
}

function textObject(v: unknown, at: string, max: number, types: string[]): string | undefined {
  if (!isObject(v)) return `${at} must be a text object`;
  if (!types.includes(String(v["type"]))) return `${at}.type must be ${types.join(" or ")}`;
  if (typeof v["text"] !== "string" || v["text"].length === 0) return `${at}.text must be a non-empty string`;
  if (v["text"].length > max) return `${at}.text is longer than ${max} characters`;
  return undefined;
}
