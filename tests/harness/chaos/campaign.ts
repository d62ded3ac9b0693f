import { generateSchedule, type ChaosEvent, type ConsumerKind, type Dependency, type GenerateOptions, type GeneratedSchedule } from "./events.js";
import { ddmin } from "./shrink.js";
import { runSchedule, type ChaosEnv, type RunOptions, type ScheduleOutcome, type ScheduleViolation } from "./simulator.js";

/**
 * A campaign: N seeded schedules, the totals, and for each violation its seed and a shrunk event
 * list that replays it (`npm run chaos -- --replay '<json>'`).
 */
export interface ReportedViolation extends ScheduleViolation {
  /** The shrunk schedule: pass it to --replay (as a file or inline JSON). */
  replay: GeneratedSchedule;
  shrunkFrom: number;
  shrinkTries: number;
}

export interface CampaignSummary {
  schedules: number;
  /** Schedules whose set had each target-group kind besides its gateway. */
  kinds: Partial<Record<ConsumerKind, number>>;
  events: number;
  faults: number;
  /** Faults injected, by dependency. */
  faultsOn: Partial<Record<Dependency, number>>;
  crashes: number;
  rotationsCompleted: number;
  violations: ReportedViolation[];
  msPerSchedule: number;
}

export interface CampaignOptions {
  schedules: number;
  /** Seed of the first schedule; schedule i uses seed + i. */
  seed: number;
  generate?: GenerateOptions;
  run?: RunOptions;
  /** Shrink each violating schedule (default true); replays are bounded by `shrinkTries`. */
  shrink?: boolean;
  shrinkTries?: number;
  onSchedule?: (outcome: ScheduleOutcome, index: number) => void;
  /** Run only every `of`-th schedule starting at `index` (one of `of` parallel workers). */
  share?: { index: number; of: number };
}

function scheduleForSeed(seed: number, generate?: GenerateOptions): GeneratedSchedule {
  return generateSchedule(seed >>> 0, generate);
}

/**
 * Whether a candidate event list still shows the violation, in the same phase: one seen after an
 * event must show during the events (the try stops there, and skips the convergence phase when it
 * does not), one seen after the faults stopped may show anywhere.
 */
async function reproduces(env: ChaosEnv, schedule: GeneratedSchedule, violation: ScheduleViolation, run?: RunOptions): Promise<boolean> {
  const out = await runSchedule(env, schedule, { ...run, stopAtFirst: false, stopAt: violation.invariant, eventsOnly: violation.afterEvent >= 0 });
  return out.violations.some((v) => v.invariant === violation.invariant);
}

export async function shrinkViolation(
  env: ChaosEnv,
  schedule: GeneratedSchedule,
  violation: ScheduleViolation,
  options: { tries?: number; run?: RunOptions } = {},
): Promise<ReportedViolation> {
  // Events after the one that showed the violation cannot have caused it (unless it showed in the convergence phase).
  const prefix = violation.afterEvent >= 0 ? schedule.events.slice(0, violation.afterEvent + 1) : schedule.events;
  const { items, tries } = await ddmin<ChaosEvent>(prefix, (events) => reproduces(env, { ...schedule, events }, violation, options.run), {
    tries: options.tries ?? 30,
  });
  return { ...violation, replay: { ...schedule, events: items }, shrunkFrom: schedule.events.length, shrinkTries: tries };
}

/** A campaign that ran nothing yet (and what a worker that crashed contributes). */
export function emptySummary(): CampaignSummary {
  return { schedules: 0, kinds: {}, events: 0, faults: 0, faultsOn: {}, crashes: 0, rotationsCompleted: 0, violations: [], msPerSchedule: 0 };
}

export async function runCampaign(env: ChaosEnv, options: CampaignOptions): Promise<CampaignSummary> {
  const summary = emptySummary();
  let ms = 0;
  for (let i = 0; i < options.schedules; i++) {
    if (options.share && i % options.share.of !== options.share.index) continue;
    const schedule = scheduleForSeed(options.seed + i, options.generate);
    const out = await runSchedule(env, schedule, options.run);
    summary.schedules++;
    summary.events += out.events;
    summary.faults += out.faults;
    addCounts(summary.kinds, Object.fromEntries(out.kinds.map((k) => [k, 1])));
    addCounts(summary.faultsOn, out.faultsOn);
    summary.crashes += out.crashes;
    summary.rotationsCompleted += out.rotationsCompleted;
    ms += out.ms;
    options.onSchedule?.(out, i);
    // One report per invariant per schedule: the first time it showed.
    const firsts = new Map<string, ScheduleViolation>();
    for (const v of out.violations) if (!firsts.has(v.invariant)) firsts.set(v.invariant, v);
    for (const v of firsts.values()) {
      summary.violations.push(
        options.shrink === false
          ? { ...v, replay: schedule, shrunkFrom: schedule.events.length, shrinkTries: 0 }
          : await shrinkViolation(env, schedule, v, { tries: options.shrinkTries, run: options.run }),
      );
    }
  }
  summary.msPerSchedule = summary.schedules ? Math.round(ms / summary.schedules) : 0;
  return summary;
}

/** Adds `more`'s counts into `into` (a campaign's per-kind and per-dependency figures; the CLI adds its workers' up). */
export function addCounts<K extends string>(into: Partial<Record<K, number>>, more: Partial<Record<K, number>>): void {
  for (const [k, n] of Object.entries(more) as [K, number][]) into[k] = (into[k] ?? 0) + n;
}
