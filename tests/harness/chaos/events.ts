import { Rng } from "./prng.js";

/**
 * The vocabulary of a chaos schedule. Every event is plain JSON carrying all of its parameters, so
 * a schedule (or a shrunk part of one) replays from its printed form alone (`--replay`). Indexes
 * (`pick`) are taken modulo whatever exists when the event runs, so any sub-list stays valid.
 */
type Mode = "scheduled" | "force" | "emergency";
export type Dependency = "graph" | "token" | "keyvault" | "gateway" | "arm" | "kong" | "storage" | "teams" | "slack" | "pagerduty" | "opsgenie" | "webhook";
export type FaultKind = "status" | "throttle" | "drop" | "dropAfterHandling" | "hang" | "latency" | "html" | "truncated" | "wrongType";
export type CrashSeam = "afterStep" | "afterEffect" | "afterTargetUpdated";
/** Target-group kinds a schedule's set may have besides its gateway (issue 24), on the ARM and Kong emulators. */
export const CONSUMER_KINDS = ["kong-openid-connect", "apim-named-value", "apim-credential-manager", "appservice-keyvault-reference"] as const;
export type ConsumerKind = (typeof CONSUMER_KINDS)[number];

export type ChaosEvent =
  | { t: "tick" }
  | { t: "health" }
  | { t: "advance"; hours: number }
  | { t: "clockJump"; days: number }
  | { t: "request"; mode: Mode; dryRun?: boolean }
  | { t: "burst"; mode: Mode; n: number }
  | { t: "confirm" }
  | { t: "redeliver"; pick: number }
  | { t: "requestDuringPass"; mode: Mode }
  | { t: "addServer"; copy: "current" | "old" }
  | { t: "deleteServer"; pick: number }
  | { t: "moveServer"; pick: number }
  | { t: "editByHand"; pick: number; text: string }
  | { t: "tokenUrl"; pick: number; variant: "customDomain" | "tenantId" }
  | { t: "handMadeAdd" }
  | { t: "handMadeRemove"; pick: number }
  | { t: "policy"; blocked: boolean; maxDays?: number }
  /** A policy assigned to this app only (overrides the tenant default); `clear` unassigns it. */
  | { t: "appPolicy"; blocked?: boolean; maxDays?: number; clear?: boolean }
  | { t: "replication"; ms: number }
  /** Acceptance of new secrets flaps (slots of `periodMs`, drawn from `seed`) for `flapMs`; removed ones linger `lagMs`. */
  | { t: "replicationFlap"; flapMs: number; periodMs: number; lagMs: number; seed: number }
  | { t: "fault"; dep: Dependency; kind: FaultKind; status?: number; times: number }
  | { t: "clearFaults" }
  | { t: "crash"; seam: CrashSeam; skip: number }
  | { t: "leaseLoss" }
  /** Tests only: an invariant broken behind the product's back, to prove the oracle can fail. */
  | { t: "sabotage"; what: "disableCurrentVersion" | "deleteTargetSecret" }
  /** Tests only: a consumer of `kind` made to use the retired hand-made secret (`old`) or a value Entra never issued. */
  | { t: "sabotage"; what: "overwriteConsumerSecret"; kind: ConsumerKind; value: "old" | "garbage" };

export interface GeneratedSchedule {
  seed: number;
  /**
   * How the estate is seeded: days until the hand-made secret expires, MCP servers, whether the
   * gateway has no API (`manual`: an operator pastes the secret and confirms), and the set's other
   * target groups (`kinds`, each with its consumers: tests/harness/chaos/consumers.ts).
   */
  estate: { secretExpiresInDays: number; targets: number; otherTargets: number; manual?: boolean; kinds?: ConsumerKind[] };
  events: ChaosEvent[];
}

const CHANNELS: readonly Dependency[] = ["teams", "slack", "pagerduty", "opsgenie", "webhook"];

/** Which emulator serves each consumer kind: faults there only matter to an estate that has one. */
const EMULATOR_OF: Record<ConsumerKind, Dependency> = {
  "kong-openid-connect": "kong",
  "apim-named-value": "arm",
  "apim-credential-manager": "arm",
  "appservice-keyvault-reference": "arm",
};

function fault(rng: Rng, consumerKinds: readonly ConsumerKind[]): ChaosEvent {
  const served = new Set(consumerKinds.map((k) => EMULATOR_OF[k]));
  const dep = rng.weighted<Dependency>([
    [3, "graph"],
    [2, "token"],
    [3, "keyvault"],
    [4, "gateway"],
    ...(["arm", "kong"] as const).filter((d) => served.has(d)).map((d) => [4, d] as const),
    [2, "storage"],
    ...CHANNELS.map((d) => [0.6, d] as const),
  ]);
  // Storage is Azurite behind a proxy: it can fail, drop, stall or hang, but it does not speak HTML.
  const kinds: (readonly [number, FaultKind])[] =
    dep === "storage"
      ? [
          [4, "status"],
          [2, "drop"],
          [2, "dropAfterHandling"],
          [1, "latency"],
          [0.5, "hang"],
        ]
      : [
          [4, "status"],
          [3, "throttle"],
          [2, "drop"],
          [1, "dropAfterHandling"],
          [1, "latency"],
          [1.5, "html"],
          [1.5, "truncated"],
          [1, "wrongType"],
          // Every dependency's calls carry a timeout (the runtime's HTTP timeout), so any may hang.
          [0.5, "hang"],
        ];
  const kind = rng.weighted(kinds);
  const statuses = dep === "storage" ? [500, 503] : [500, 502, 503, 401, 403, 404, 409];
  // Mostly a few bad answers a retry absorbs; a quarter are outages that outlast a pass.
  return { t: "fault", dep, kind, ...(kind === "status" ? { status: rng.pick(statuses) } : {}), times: rng.chance(0.25) ? rng.int(30, 150) : rng.int(1, 12) };
}

/**
 * How often each mode is asked for: a request mostly on schedule; one arriving during a pass is
 * mostly an emergency (the race that matters is an emergency during a running rotation).
 */
const MODE_WEIGHTS: Record<"request" | "requestDuringPass", readonly (readonly [number, Mode])[]> = {
  request: [
    [3, "scheduled"],
    [2, "force"],
    [2, "emergency"],
  ],
  requestDuringPass: [
    [1, "scheduled"],
    [1, "force"],
    [3, "emergency"],
  ],
};

/** One event of the random day, drawn by weight. */
function randomEvent(rng: Rng, later: Map<number, ChaosEvent[]>, day: number, estate: GeneratedSchedule["estate"]): ChaosEvent {
  const manual = estate.manual === true;
  const kind = rng.weighted<string>([
    [10, "fault"],
    [3, "request"],
    [1, "burst"],
    // A manual gateway's run waits for an operator; elsewhere a confirm must be refused.
    [manual ? 4 : 1, "confirm"],
    [3, "redeliver"],
    [1.5, "requestDuringPass"],
    [2, "addServer"],
    [2, "deleteServer"],
    [2, "moveServer"],
    [1.5, "editByHand"],
    [1, "tokenUrl"],
    [1, "handMadeAdd"],
    [0.7, "handMadeRemove"],
    [1, "policy"],
    [0.7, "appPolicy"],
    [1, "replication"],
    [0.7, "replicationFlap"],
    [4, "crash"],
    [1, "leaseLoss"],
    [1, "clockJump"],
    [1, "clearFaults"],
    [2, "tick"],
    [1, "health"],
  ]);
  const revertIn = (days: number, e: ChaosEvent): void => {
    const at = day + days;
    later.set(at, [...(later.get(at) ?? []), e]);
  };
  switch (kind) {
    case "fault":
      return fault(rng, estate.kinds ?? []);
    case "request":
      return { t: "request", mode: rng.weighted(MODE_WEIGHTS.request), ...(rng.chance(0.25) ? { dryRun: true } : {}) };
    case "burst":
      return { t: "burst", mode: rng.pick<Mode>(["scheduled", "force", "emergency"]), n: 50 };
    case "confirm":
      return { t: "confirm" };
    case "redeliver":
      return { t: "redeliver", pick: rng.int(0, 1000) };
    case "requestDuringPass":
      return { t: "requestDuringPass", mode: rng.weighted(MODE_WEIGHTS.requestDuringPass) };
    case "addServer":
      // A manual gateway's servers are the operator's to keep current: nobody can find an old copy for them.
      return { t: "addServer", copy: manual ? "current" : rng.pick(["current", "old"] as const) };
    case "deleteServer":
      return { t: "deleteServer", pick: rng.int(0, 1000) };
    case "moveServer":
      return { t: "moveServer", pick: rng.int(0, 1000) };
    case "editByHand":
      return { t: "editByHand", pick: rng.int(0, 1000), text: `hx~${rng.token(34)}` };
    case "tokenUrl":
      return { t: "tokenUrl", pick: rng.int(0, 1000), variant: rng.pick(["customDomain", "tenantId"] as const) };
    case "handMadeAdd":
      return { t: "handMadeAdd" };
    case "handMadeRemove":
      return { t: "handMadeRemove", pick: rng.int(0, 1000) };
    case "policy": {
      // A tenant policy appears, and is lifted a day or two later (a block that stayed would rightly fail the estate).
      const e: ChaosEvent = rng.chance(0.5) ? { t: "policy", blocked: true } : { t: "policy", blocked: false, maxDays: rng.pick([30, 60, 90]) };
      revertIn(rng.int(1, 2), { t: "policy", blocked: false });
      return e;
    }
    case "appPolicy": {
      const e: ChaosEvent = rng.chance(0.5) ? { t: "appPolicy", blocked: true } : { t: "appPolicy", maxDays: rng.pick([30, 60, 90]) };
      revertIn(rng.int(1, 2), { t: "appPolicy", clear: true });
      return e;
    }
    case "replication":
      // Longer than the verify budget: the run waits and a later pass finishes verification.
      revertIn(1, { t: "replication", ms: 0 });
      return { t: "replication", ms: rng.pick([1_500, 3_000, 6 * 3_600_000]) };
    case "replicationFlap":
      // Shorter than the verification's minimum stable span (tests/harness/chaos/simulator.ts), as
      // Entra's replication settles well inside the product's default 30 s.
      revertIn(1, { t: "replicationFlap", flapMs: 0, periodMs: 300, lagMs: 0, seed: 0 });
      return { t: "replicationFlap", flapMs: rng.pick([600, 900]), periodMs: 300, lagMs: rng.pick([0, 500, 2_000]), seed: rng.int(0, 1_000_000) };
    case "crash":
      return {
        t: "crash",
        seam: rng.weighted<CrashSeam>([
          [3, "afterStep"],
          [3, "afterEffect"],
          [1, "afterTargetUpdated"],
        ]),
        skip: rng.int(0, 6),
      };
    case "leaseLoss":
      return { t: "leaseLoss" };
    case "clockJump":
      return { t: "clockJump", days: rng.int(2, 6) };
    case "clearFaults":
      return { t: "clearFaults" };
    case "health":
      return { t: "health" };
    default:
      return { t: "tick" };
  }
}

export interface GenerateOptions {
  /** Simulated days (default 5–10). */
  days?: [number, number];
  /** Random events per day besides the timer tick (default 1–3). */
  perDay?: [number, number];
}

/** A seeded schedule over simulated weeks: each day random events, the rotation timer, sometimes the health timer. */
export function generateSchedule(seed: number, options: GenerateOptions = {}): GeneratedSchedule {
  const rng = new Rng(seed);
  const estate: GeneratedSchedule["estate"] = {
    secretExpiresInDays: rng.int(12, 60),
    targets: rng.int(3, 8),
    otherTargets: rng.int(0, 2),
    ...(rng.chance(0.15) ? { manual: true } : {}),
  };
  // Each other kind in about two estates of five, so most schedules mix the gateway with one or more.
  const kinds = CONSUMER_KINDS.filter(() => rng.chance(0.4));
  if (kinds.length > 0) estate.kinds = kinds;
  const events: ChaosEvent[] = [];
  const later = new Map<number, ChaosEvent[]>();
  const [dMin, dMax] = options.days ?? [5, 10];
  const [pMin, pMax] = options.perDay ?? [1, 3];
  const days = rng.int(dMin, dMax);
  for (let day = 0; day < days; day++) {
    events.push(...(later.get(day) ?? []));
    const n = rng.int(pMin, pMax);
    const todays: ChaosEvent[] = [{ t: "tick" }];
    if (rng.chance(0.3)) todays.push({ t: "health" });
    for (let i = 0; i < n; i++) todays.push(randomEvent(rng, later, day, estate));
    // Shuffle the day's events so faults and crashes land before or after the tick.
    for (let i = todays.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [todays[i], todays[j]] = [todays[j]!, todays[i]!];
    }
    events.push(...todays);
    // Sometimes a few hours pass within the day (the grace period, replication), then the rest.
    if (rng.chance(0.3)) {
      const h = rng.int(1, 12);
      events.push({ t: "advance", hours: h }, { t: "tick" }, { t: "advance", hours: 24 - h });
    } else {
      events.push({ t: "advance", hours: 24 });
    }
  }
  for (const [day, es] of later) if (day >= days) events.push(...es);
  return { seed, estate, events };
}
