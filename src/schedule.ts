/**
 * Enough NCRONTAB (`sec min hour day month weekday`, as the Functions timer uses) to know when a
 * schedule fires next and how long its period is — the health timer uses the period to notice a
 * rotation timer that stopped running. Supports `*`, `*\/n`, `a-b`, `a-b/n` and lists.
 */
const FIELDS: [number, number][] = [
  [0, 59],
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 6],
];

function parseField(text: string, [min, max]: [number, number]): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(",")) {
    const [range, stepText] = part.split("/");
    const step = stepText ? Number(stepText) : 1;
    let lo = min;
    let hi = max;
    if (range && range !== "*") {
      const [a, b] = range.split("-");
      lo = Number(a);
      hi = b !== undefined ? Number(b) : stepText ? max : lo;
    }
    if (![lo, hi, step].every(Number.isInteger) || step < 1) throw new RangeError(`invalid NCRONTAB field "${text}"`);
    for (let v = lo; v <= hi; v += step) out.add(v === 7 && max === 6 ? 0 : v);
  }
  return out;
}

export interface Schedule {
  next(after: Date): Date;
  periodMs(from?: Date): number;
}

export function parseSchedule(expr: string): Schedule {
  const parts = expr.trim().split(/\s+/);
  if (parts.length !== 6) throw new RangeError(`"${expr}" is not a 6-field NCRONTAB expression`);
  const [sec, min, hour, day, month, dow] = parts.map((p, i) => parseField(p, FIELDS[i]!));
  const next = (after: Date): Date => {
    const t = new Date(after.getTime() + 1000);
    t.setUTCMilliseconds(0);
    // Minute by minute over at most ~400 days: plenty for any schedule a timer would use.
    for (let i = 0; i < 600_000; i++) {
      if (month!.has(t.getUTCMonth() + 1) && day!.has(t.getUTCDate()) && dow!.has(t.getUTCDay()) && hour!.has(t.getUTCHours()) && min!.has(t.getUTCMinutes())) {
        const s = [...sec!].sort((a, b) => a - b).find((x) => x >= t.getUTCSeconds());
        if (s !== undefined) {
          t.setUTCSeconds(s);
          return t;
        }
      }
      t.setUTCSeconds(0);
      t.setUTCMinutes(t.getUTCMinutes() + 1);
    }
    throw new RangeError(`"${expr}" never fires`);
  };
  return {
    next,
    periodMs(from = new Date()) {
      const a = next(from);
      return next(a).getTime() - a.getTime();
    },
  };
}
