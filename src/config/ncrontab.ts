import { Cron } from "croner";

/**
 * The 6-field NCRONTAB expressions the Functions timer trigger accepts:
 * `{second} {minute} {hour} {day} {month} {day-of-week}` (UTC, as the timer runs them).
 *
 * One parser: `croner` (a maintained cron library that handles the six-field form) computes every
 * firing time, and validation is "croner can compile it and it fires" plus the few rules that
 * are NCRONTAB's or ours alone, all in this file:
 * - exactly six fields, seconds first (no 5-field Unix cron, no year field, no `@daily` macros);
 * - no TimeSpan (`hh:mm:ss`): the timer accepts it only on an App Service plan, never on
 *   Consumption or Flex Consumption, so this service has never supported it;
 * - no Quartz extensions (`? L W #`), which croner would accept but NCRONTAB rejects;
 * - day-of-week 0–6 (NCRONTAB has no 7 for Sunday);
 * - English day and month names, case-insensitive, full or abbreviated (`Monday`, `Mon`,
 *   `January`, `Jan`), which croner knows only as three-letter abbreviations;
 * - day-of-month AND day-of-week must both match (NCRONTAB's rule, not Vixie cron's OR);
 * - ours: at most one firing a minute (a single number in the seconds field).
 * Validation (settings) and computation (src/schedule.ts) both go through `compileNcrontab`, so
 * an expression that passes validation can always be computed.
 */

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"] as const;
const DAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"] as const;

const FIELDS: readonly FieldSpec[] = [
  { name: "second", min: 0, max: 59 },
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTHS },
  { name: "day-of-week", min: 0, max: 6, names: DAYS },
];

const NCRONTAB_LAYOUT = "{second} {minute} {hour} {day} {month} {day-of-week}";

/** An expression that is not NCRONTAB the timer (and this service) accepts; `problem` says what and how to fix it. */
class NcrontabError extends RangeError {
  constructor(readonly problem: string) {
    super(problem);
    this.name = "NcrontabError";
  }
}

/**
 * Compiles an NCRONTAB expression to a paused croner schedule in UTC, or throws `NcrontabError`.
 * This is the only place an expression is parsed.
 */
export function compileNcrontab(expression: string): Cron {
  const expr = expression.trim();
  if (/^\d{1,2}:\d{2}(:\d{2})?$/.test(expr)) {
    throw new NcrontabError(
      `"${expr}" is a TimeSpan, which Consumption and Flex Consumption plans do not accept — write a 6-field NCRONTAB expression ${NCRONTAB_LAYOUT}`,
    );
  }
  if (expr.startsWith("@")) {
    throw new NcrontabError(`"${expr}" is a cron macro, which NCRONTAB does not support — write the 6 fields ${NCRONTAB_LAYOUT}`);
  }
  const parts = expr.split(/\s+/);
  if (parts.length === 5) {
    throw new NcrontabError(`"${expr}" has 5 fields but NCRONTAB needs 6: ${NCRONTAB_LAYOUT} — put the seconds first, e.g. "0 ${expr}"`);
  }
  if (parts.length === 7) {
    throw new NcrontabError(`"${expr}" has 7 fields but NCRONTAB has no year field — remove the last field: ${NCRONTAB_LAYOUT}`);
  }
  if (parts.length !== 6) {
    throw new NcrontabError(`"${expr}" has ${parts.length} field${parts.length === 1 ? "" : "s"} but NCRONTAB needs 6: ${NCRONTAB_LAYOUT}`);
  }
  const numeric: string[] = [];
  for (let i = 0; i < 6; i++) {
    const out = numericField(parts[i]!, FIELDS[i]!);
    if (typeof out === "object") throw new NcrontabError(`"${expr}": ${out.problem} — expected ${NCRONTAB_LAYOUT}`);
    numeric.push(out);
  }
  const pattern = numeric.join(" ");
  let cron: Cron;
  try {
    // domAndDow: NCRONTAB fires only when the day AND the day-of-week match.
    cron = new Cron(pattern, { timezone: "UTC", mode: "6-part", domAndDow: true, paused: true });
  } catch (e) {
    throw new NcrontabError(`"${expr}" is not a valid NCRONTAB expression (${e instanceof Error ? e.message : String(e)}) — expected ${NCRONTAB_LAYOUT}`);
  }
  if (!cron.nextRun(new Date(0))) {
    throw new NcrontabError(`"${expr}" never fires (no date matches every field) — check the day, month and day-of-week fields`);
  }
  return cron;
}

/** Returns "what is wrong — how to fix it", or undefined when the expression is valid for a timer of this service. */
export function ncrontabProblem(expression: string, example: string): string | undefined {
  try {
    compileNcrontab(expression);
  } catch (e) {
    if (e instanceof NcrontabError) return e.problem.includes("e.g.") ? e.problem : `${e.problem}, e.g. "${example}"`;
    throw e;
  }
  // Ours, not NCRONTAB's: more than one firing a minute hammers Entra and the gateway and gains nothing.
  const seconds = expression.trim().split(/\s+/)[0]!;
  if (!/^\d+$/.test(seconds)) {
    return `"${expression.trim()}" fires more than once a minute (the seconds field is "${seconds}") — use a single second such as 0, e.g. "${example}"`;
  }
  return undefined;
}

/** The field with names replaced by numbers (croner's dialect), or what is wrong with it. */
function numericField(field: string, spec: FieldSpec): string | { problem: string } {
  // Names (Jul, Wed) contain L and W, so those letters mean Quartz only in the numeric fields.
  if (/[?#]/.test(field) || (!spec.names && /[LW]/i.test(field))) {
    return { problem: `the ${spec.name} field "${field}" uses Quartz syntax (? L W #) that NCRONTAB does not support` };
  }
  const items: string[] = [];
  for (const item of field.split(",")) {
    const m = /^(\*|[^-/]+(?:-[^-/]+)?)(?:\/(.+))?$/.exec(item);
    if (!m) return { problem: `the ${spec.name} field "${field}" is not valid` };
    const [, range, step] = m;
    if (step !== undefined && !(/^\d+$/.test(step) && Number(step) >= 1 && Number(step) <= spec.max - spec.min + 1)) {
      return { problem: `the ${spec.name} field "${field}" has the step "/${step}", which must be a whole number from 1 to ${spec.max - spec.min + 1}` };
    }
    if (range === "*") {
      items.push(item);
      continue;
    }
    const [lo, hi] = range!.split("-");
    const a = value(lo!, spec);
    const b = hi === undefined ? a : value(hi, spec);
    if (a === undefined || b === undefined) {
      const named = spec.names
        ? ` or the English names (${cap(spec.names[0]!)} or ${cap(spec.names[0]!.slice(0, 3))} … ${cap(spec.names[spec.names.length - 1]!.slice(0, 3))})`
        : "";
      return { problem: `the ${spec.name} field "${field}" must use values ${spec.min}–${spec.max}${named}` };
    }
    if (a > b) return { problem: `the ${spec.name} field "${field}" has a range that runs backwards — write the smaller value first` };
    items.push(`${hi === undefined ? a : `${a}-${b}`}${step !== undefined ? `/${step}` : ""}`);
  }
  return items.join(",");
}

function value(token: string, spec: FieldSpec): number | undefined {
  if (/^\d+$/.test(token)) {
    const n = Number(token);
    return n >= spec.min && n <= spec.max ? n : undefined;
  }
  // Names are English, case-insensitive, and may be abbreviated; fewer than three letters is
  // ambiguous (Ma, Ju), so three is the shortest we take — the length the timer docs recommend.
  const t = token.toLowerCase();
  if (t.length < 3 || !spec.names) return undefined;
  const idx = spec.names.findIndex((n) => n.startsWith(t));
  if (idx < 0) return undefined;
  return spec.name === "month" ? idx + 1 : idx;
}

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
