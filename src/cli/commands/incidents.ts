import { SERVICE_SET } from "../../alerts/model.js";
import { RotatorError } from "../../errors.js";
import type { CommandContext } from "../context.js";
import { EXIT, type ExitCode } from "../output.js";
import { printIncidents } from "./status.js";

/**
 * `incidents`: the open incidents (of the selected sets and of the rotator itself), most severe
 * first. `--resolve <key>` closes one by hand — at once, announced to the channels that got the
 * opening; a check that still fails opens it again on the next health probe.
 */
export async function incidentsCommand(ctx: CommandContext, resolve: string | undefined): Promise<{ code: ExitCode; body: Record<string, unknown> }> {
  const manager = ctx.runtime.alerting.manager;
  if (resolve !== undefined) {
    const outcome = await manager.resolveManually(resolve);
    if (!outcome?.incident) {
      const open = (await manager.listOpen()).map((i) => i.dedupKey);
      throw new RotatorError("INCIDENT_NOT_FOUND", `No open incident with key "${resolve}"`, {
        hint: open.length ? `Open incidents: ${open.join(", ")}.` : "There is no open incident.",
      });
    }
    const delivered = outcome.incident.deliveredTo;
    ctx.out.say(`resolved ${resolve}${delivered.length ? `; resolve sent to ${delivered.join(", ")}` : ""}`);
    ctx.out.say("  if the check still fails, the next health probe opens it again");
    return answered({ resolved: { dedupKey: resolve, set: outcome.incident.set, check: outcome.incident.check, notifiedChannels: delivered } });
  }
  const wanted = new Set([...ctx.sets.map((s) => s.name), SERVICE_SET]);
  const open = (await manager.listOpen()).filter((i) => wanted.has(i.set));
  if (open.length === 0) ctx.out.say("no open incident");
  else {
    ctx.out.say(`${open.length} open incident(s):`);
    printIncidents(ctx, open);
    ctx.out.say("close one by hand: mcp-sso-rotator incidents --resolve <key>");
  }
  const listed = open.map((i) => ({
    dedupKey: i.dedupKey,
    set: i.set,
    check: i.check,
    severity: i.severity,
    title: i.title,
    hint: i.hint,
    openedAt: i.openedAt,
    runId: i.runId ?? null,
  }));
  return answered({ open: listed });
}

/** The command's successful answer: exit 0 and its JSON body. */
function answered(body: Record<string, unknown>): { code: ExitCode; body: Record<string, unknown> } {
  return { code: EXIT.ok, body: { command: "incidents", ok: true, ...body } };
}
