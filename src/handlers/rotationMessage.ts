import { randomUUID } from "node:crypto";
import { z } from "zod";
import { shown } from "./http.js";

/** Credential-set names follow the config rule; anything else cannot name a set. */
const SET_NAME_RULE = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** Keys the worker records under messages/<set>/: safe as a blob name, bounded. */
const MESSAGE_KEY = /^(tick|event)-[0-9A-Za-z:._-]{8,100}$/;

/** The message the timer and the HTTP API put on the rotation queue. */
export const rotationMessageSchema = z.strictObject({
  // The config rule for set names: a longer or stranger value names no set, and is never logged whole.
  set: z.string().regex(SET_NAME_RULE, { error: "set must be a credential-set name (1–40 lowercase letters, digits or dashes)" }),
  mode: z.enum(["scheduled", "force", "emergency"]),
  runId: z
    .string()
    .regex(/^[0-9A-Za-z-]{8,64}$/)
    .optional(),
  trigger: z.enum(["timer", "http", "queue", "demo"]).default("queue"),
  /** The durable request (requests/<set>/…) this message wakes a worker for. */
  requestId: z
    .string()
    .regex(/^req-[0-9a-f-]{36}$/)
    .optional(),
  /**
   * The idempotency key of a message that carries no request: the timer tick's (`tick-…`) or the
   * Key Vault event's (`event-…`). A message with neither is refused (issue 26, defect 3).
   */
  key: z.string().regex(MESSAGE_KEY).optional(),
});
export type RotationMessage = z.infer<typeof rotationMessageSchema>;

/** A message's idempotency key: its request's ID, else its own key; undefined when it has neither. */
export function messageKey(m: Pick<RotationMessage, "requestId" | "key">): string | undefined {
  return m.requestId ?? m.key;
}

/** A new timer-tick key: the tick's time, and a nonce so two ticks in one millisecond differ. */
export function newTickKey(now: Date): string {
  return `tick-${now.toISOString().replace(/[^0-9A-Za-z]/g, "")}-${randomUUID().slice(0, 8)}`;
}

/** The key of a Key Vault event's message: Event Grid redelivers an event with the same ID. */
export function eventKey(eventId: string): string {
  return /^[0-9A-Za-z-]{8,64}$/.test(eventId) ? `event-${eventId}` : `event-${randomUUID()}`;
}

type IssueLike = { code?: string; input?: unknown };

/** Words "missing" and "wrong type" apart; a wrong type names what was sent. */
const missingOrType = (field: string, missing: string, expected: string) => (iss: IssueLike) =>
  iss.code !== "invalid_type"
    ? undefined
    : iss.input === undefined
      ? `${field} is required — ${missing}`
      : `${field} must be ${expected}, not ${typeName(iss.input)} — ${missing}`;

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  return typeof v === "object"
    ? "an object"
    : typeof v === "string"
      ? "a string"
      : typeof v === "number"
        ? "a number"
        : typeof v === "boolean"
          ? "true/false"
          : typeof v;
}

const SET_NAME = SET_NAME_RULE;

/** The POST /api/rotations body; unknown fields are refused so a typo never silently changes behaviour. */
export const startRotationBodySchema = z.strictObject({
  set: z
    .string({ error: missingOrType("set", "give the name of a credential set (GET /api/status lists them)", "a string") })
    .regex(SET_NAME, { error: "set must be a credential-set name (1–40 lowercase letters, digits or dashes) — GET /api/status lists them" }),
  mode: z
    .enum(["scheduled", "force", "emergency"], {
      error: "mode must be scheduled, force or emergency — scheduled rotates only when due, force always, emergency also retires the old secret at once",
    })
    .default("scheduled"),
  dryRun: z.boolean({ error: "dryRun must be true or false (without quotes)" }).default(false),
});
export const START_FIELDS = ["set", "mode", "dryRun"] as const;

/**
 * Who confirmed a manual update: a bounded, printable identity — a name, e-mail or UPN. No control
 * characters, line breaks, bidi overrides, lone surrogates or markup (`<!channel>` would ping a
 * whole Slack channel), no leading or trailing spaces.
 */
const CONFIRMED_BY = /^[\p{L}\p{N}\p{M}._@+'()-](?:[\p{L}\p{N}\p{M} ._@+'()-]{0,126}[\p{L}\p{N}\p{M}._@+'()-])?$/u;

/** An MCP server's name or ID as the journal holds it: printable, bounded, no markup. */
const TARGET_NAME = /^[^\p{Cc}\p{Cf}\p{Cs}<>]{1,256}$/u;

export const confirmBodySchema = z.strictObject({
  confirmedBy: z
    .string({ error: missingOrType("confirmedBy", 'say who updated the MCP servers by hand, e.g. "alice@contoso.com"', "a string") })
    .regex(CONFIRMED_BY, {
      error:
        'confirmedBy must be a name or e-mail of 1–128 letters, digits, spaces and . _ @ + \' ( ) - , without line breaks, control characters or markup — e.g. "alice@contoso.com"',
    }),
  // One MCP server (its name or ID) updated by hand; without it, the confirmation covers every server of the run.
  target: z
    .string({
      error: missingOrType("target", 'name the one MCP server you updated, e.g. "cequence-sso-mcp-01", or leave it out to confirm them all', "a string"),
    })
    .regex(TARGET_NAME, { error: "target must be an MCP server's name or ID: 1–256 characters, without control characters or markup" })
    .optional(),
});
export const CONFIRM_FIELDS = ["confirmedBy", "target"] as const;

/**
 * Zod issues as `{ field, message }`, each naming the field and the fix, with `allowed` listing the
 * endpoint's own fields for unknown ones. Nothing the caller sent is repeated beyond a short,
 * escaped prefix.
 */
export function describeZodIssues(error: z.ZodError, allowed: readonly string[]): { field: string; message: string }[] {
  return error.issues.map((i) => {
    if (i.code === "unrecognized_keys") {
      const keys = (i as { keys?: string[] }).keys ?? [];
      // A plain identifier is shown as is; anything else only as a short escaped prefix.
      const names = keys.slice(0, 5).map((k) => (/^[A-Za-z0-9_.-]{1,40}$/.test(k) ? k : shown(k, 40)));
      return {
        field: names.join(", ") || "(body)",
        message: `unknown field(s) ${names.join(", ")}${keys.length > 5 ? ` and ${keys.length - 5} more` : ""} — remove them; allowed fields are ${allowed.join(", ")}`,
      };
    }
    if (i.path.length === 0) {
      return {
        field: "(body)",
        message: `the body must be a JSON object like {${allowed.map((f) => `"${f}": …`).join(", ")}}, not ${typeName((i as IssueLike).input)}`,
      };
    }
    return { field: i.path.map(String).join("."), message: i.message };
  });
}
