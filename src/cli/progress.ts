import cliProgress from "cli-progress";
import type { RotationHooks } from "../rotation/hooks.js";
import type { StepName } from "../rotation/model.js";
import type { RotationJournalStore } from "../rotation/journal.js";
import { createLogger, type Logger } from "../logging.js";
import type { Redactor } from "../redact.js";
import type { Output } from "./output.js";

/**
 * What a person sees while a pass runs: the runner's own log lines (each step's outcome, per-target
 * failures) and, during propagation, a progress bar on a terminal or a plain line every fifth of
 * the targets otherwise (CI logs, pipes). Fed by the runner's observation hooks, which must never
 * throw — a throwing hook is how tests simulate a crash.
 */
export class PassProgress {
  private set?: string;
  private total = 0;
  private updated = 0;
  private multibar?: cliProgress.MultiBar;
  private bar?: cliProgress.SingleBar;
  private journals?: RotationJournalStore;

  constructor(
    private readonly out: Output,
    private readonly verbose: boolean,
  ) {}

  /** Registered once with the runtime; acts only between begin() and end(). */
  readonly hooks: RotationHooks = {
    afterStep: async (step: StepName) => {
      try {
        await this.onStep(step);
      } catch {
        // Progress is cosmetic; the pass must go on.
      }
    },
    afterTargetUpdated: () => {
      try {
        this.onTarget();
      } catch {
        // As above.
      }
    },
  };

  begin(set: string, journals: RotationJournalStore): void {
    this.set = set;
    this.journals = journals;
    this.total = 0;
    this.updated = 0;
  }

  end(): void {
    this.stopBar();
    this.set = undefined;
  }

  /** The runner's logger: its lines go to the human stream, above the bar while one is drawn. */
  logger(redactor: Redactor): Logger {
    return createLogger((level, line) => {
      if (level === "debug" && !this.verbose) return;
      // The set is already named above these lines; the [set=…] [run=…] prefix is for log search.
      const text = `${level === "info" ? "" : `${level.toUpperCase()} `}${line.replace(/^(\[\w+=[^\]]*\]\s*)+/, "")}`;
      if (this.multibar) this.multibar.log(`${this.out.clean(text)}\n`);
      else this.out.say(`  ${text}`);
    }, redactor);
  }

  private async onStep(step: StepName): Promise<void> {
    if (!this.set) return;
    if (step === "plan" && this.journals) {
      const state = await this.journals.readState(this.set);
      const run = state.activeRunId ? await this.journals.readRun(this.set, state.activeRunId) : undefined;
      this.total = run?.plan?.targets.total ?? 0;
    }
    if (step === "promote") this.startBar();
    if (step === "propagate") this.stopBar();
  }

  private startBar(): void {
    this.updated = 0;
    const stream = this.out.human;
    if (stream.isTTY && this.total > 0) {
      this.multibar = new cliProgress.MultiBar(
        {
          stream: stream as NodeJS.WritableStream,
          format: "  propagating |{bar}| {value}/{total} targets updated · {duration_formatted}",
          hideCursor: true,
          clearOnComplete: false,
          stopOnComplete: false,
          fps: 10,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar = this.multibar.create(this.total, 0);
    } else if (this.total > 0) {
      this.out.say(`  propagating the new secret to ${this.total} target(s)…`);
    }
  }

  private onTarget(): void {
    this.updated++;
    if (this.bar) {
      this.bar.update(Math.min(this.updated, this.total));
      return;
    }
    const every = Math.max(1, Math.ceil(this.total / 5));
    if (this.total > 0 && (this.updated % every === 0 || this.updated === this.total))
      this.out.say(`  propagating: ${this.updated}/${this.total} targets updated`);
  }

  private stopBar(): void {
    if (!this.multibar) return;
    // A redraw flushes log lines queued above the bar; stop() alone would drop them.
    this.multibar.update();
    this.multibar.stop();
    this.multibar = undefined;
    this.bar = undefined;
  }
}
