import { compileNcrontab } from "./config/ncrontab.js";

/**
 * When an NCRONTAB schedule (as the Functions timer uses it, in UTC) fires next and how long its
 * period is — the health timer uses the period to notice a rotation timer that stopped running,
 * `GET /api/health` to know when a stored probe is stale. Parsing and computation are croner's,
 * through the same `compileNcrontab` that validates the settings, so whatever passes validation
 * can be computed here.
 */
export interface Schedule {
  /** The first firing strictly after `after`. */
  next(after: Date): Date;
  /** The gap between the next two firings after `from`. */
  periodMs(from?: Date): number;
}

/** Throws `NcrontabError` (a RangeError naming the problem and its fix) for an invalid expression. */
export function parseSchedule(expr: string): Schedule {
  const cron = compileNcrontab(expr);
  const next = (after: Date): Date => {
    const t = cron.nextRun(after);
    // compileNcrontab refuses expressions that never fire; croner's range ends far beyond any timer's life.
    if (!t) throw new RangeError(`"${expr}" does not fire after ${after.toISOString()}`);
    return t;
  };
  return {
    next,
    periodMs(from = new Date()) {
      const a = next(from);
      return next(a).getTime() - a.getTime();
    },
  };
}
