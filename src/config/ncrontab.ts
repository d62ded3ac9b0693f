/**
 * Validation of the 6-field NCRONTAB expressions the Functions timer trigger accepts:
 * `{second} {minute} {hour} {day} {month} {day-of-week}`. We validate at load time so a typo is a
 * config error with a hint, not a host that silently never fires the rotation.
 */

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"] as const;
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;

const FIELDS: readonly FieldSpec[] = [
  { name: "second", min: 0, max: 59 },
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTHS },
  { name: "day-of-week", min: 0, max: 6, names: DAYS },
];

export const NCRONTAB_LAYOUT = "{second} {minute} {hour} {day} {month} {day-of-week}";

/** Returns "what is wrong — how to fix it", or undefined when the expression is valid. */
export function ncrontabProblem(expression: string, example: string): string | undefined {
  const expr = expression.trim();
  if (/^\d{1,2}:\d{2}(:\d{2})?$/.test(expr)) {
    return `"${expr}" is a TimeSpan, which Consumption and Flex Consumption plans do not accept — write a 6-field NCRONTAB expression ${NCRONTAB_LAYOUT}, e.g. "${example}"`;
  }
  if (expr.startsWith("@")) {
    return `"${expr}" is a cron macro, which NCRONTAB does not support — write the 6 fields ${NCRONTAB_LAYOUT}, e.g. "${example}"`;
  }
  const parts = expr.split(/\s+/);
  if (parts.length === 5) {
    return `"${expr}" has 5 fields but NCRONTAB needs 6: ${NCRONTAB_LAYOUT} — put the seconds first, e.g. "0 ${expr}"`;
  }
  if (parts.length === 7) {
    return `"${expr}" has 7 fields but NCRONTAB has no year field — remove the last field: ${NCRONTAB_LAYOUT}`;
  }
  if (parts.length !== 6) {
    return `"${expr}" has ${parts.length} field${parts.length === 1 ? "" : "s"} but NCRONTAB needs 6: ${NCRONTAB_LAYOUT} — e.g. "${example}"`;
  }
  for (let i = 0; i < 6; i++) {
    const problem = fieldProblem(parts[i]!, FIELDS[i]!);
    if (problem) return `"${expr}": ${problem} — expected ${NCRONTAB_LAYOUT}, e.g. "${example}"`;
  }
  // More than one firing a minute hammers Entra and the gateway and gains nothing.
  if (!/^\d+$/.test(parts[0]!)) {
    return `"${expr}" fires more than once a minute (the seconds field is "${parts[0]}") — use a single second such as 0, e.g. "${example}"`;
  }
  return undefined;
}

function fieldProblem(field: string, spec: FieldSpec): string | undefined {
  // Names (Jul, Wed) contain L and W, so those letters mean Quartz only in the numeric fields.
  if (/[?#]/.test(field) || (!spec.names && /[LW]/i.test(field))) {
    return `the ${spec.name} field "${field}" uses Quartz syntax (? L W #) that NCRONTAB does not support`;
  }
  for (const item of field.split(",")) {
    const m = /^(\*|[^-/]+(?:-[^-/]+)?)(?:\/(.+))?$/.exec(item);
    if (!m) return `the ${spec.name} field "${field}" is not valid`;
    const [, range, step] = m;
    if (step !== undefined && !(/^\d+$/.test(step) && Number(step) >= 1 && Number(step) <= spec.max - spec.min + 1)) {
      return `the ${spec.name} field "${field}" has the step "/${step}", which must be a whole number from 1 to ${spec.max - spec.min + 1}`;
    }
    if (range === "*") continue;
    const [lo, hi] = range!.split("-");
    const a = value(lo!, spec);
    const b = hi === undefined ? a : value(hi, spec);
    if (a === undefined || b === undefined) {
      const named = spec.names ? ` or ${spec.names[0]}–${spec.names[spec.names.length - 1]}` : "";
      return `the ${spec.name} field "${field}" must use values ${spec.min}–${spec.max}${named}`;
    }
    if (a > b) return `the ${spec.name} field "${field}" has a range that runs backwards — write the smaller value first`;
  }
  return undefined;
}

function value(token: string, spec: FieldSpec): number | undefined {
  if (/^\d+$/.test(token)) {
    const n = Number(token);
    return n >= spec.min && n <= spec.max ? n : undefined;
  }
  const idx = spec.names?.indexOf(token.toLowerCase() as never) ?? -1;
  if (idx < 0) return undefined;
  return spec.name === "month" ? idx + 1 : idx;
}
