import { z } from "zod";

/** The message the timer and the HTTP API put on the rotation queue. */
export const rotationMessageSchema = z.strictObject({
  set: z.string().min(1),
  mode: z.enum(["scheduled", "force", "emergency"]),
  runId: z.string().regex(/^[0-9A-Za-z-]{8,64}$/).optional(),
  trigger: z.enum(["timer", "http", "queue", "demo"]).default("queue"),
  /** The durable request (requests/<set>/…) this message wakes a worker for. */
  requestId: z.string().regex(/^req-[0-9a-f-]{36}$/).optional(),
});
export type RotationMessage = z.infer<typeof rotationMessageSchema>;

/** The POST /api/rotations body; unknown fields are refused so a typo never silently changes behaviour. */
export const startRotationBodySchema = z.strictObject({
  set: z.string({ error: "set is required — the name of a credential set (GET /api/status lists them)" }).min(1, {
    error: "set must not be empty — the name of a credential set",
  }),
  mode: z
    .enum(["scheduled", "force", "emergency"], {
      error: "mode must be scheduled, force or emergency — scheduled rotates only when due, force always, emergency also retires the old secret at once",
    })
    .default("scheduled"),
  dryRun: z.boolean({ error: "dryRun must be true or false" }).default(false),
});

export const confirmBodySchema = z.strictObject({
  confirmedBy: z
    .string({ error: "confirmedBy is required — who updated the MCP servers by hand" })
    .min(1, { error: "confirmedBy must not be empty — who updated the MCP servers by hand" })
    .max(200),
});

export function describeZodIssues(error: z.ZodError): { field: string; message: string }[] {
  return error.issues.map((i) => {
    const field = i.path.length ? i.path.join(".") : i.code === "unrecognized_keys" ? (i as { keys?: string[] }).keys?.join(", ") ?? "(body)" : "(body)";
    const message =
      i.code === "unrecognized_keys"
        ? `unknown field(s) ${(i as { keys?: string[] }).keys?.join(", ")} — remove them; allowed fields are set, mode, dryRun`
        : i.message;
    return { field, message };
  });
}
