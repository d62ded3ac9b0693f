import { z } from "zod";
import { RotatorError } from "../../errors.js";
import { GatewayErrorCode } from "../errors.js";

/**
 * What the adapter reads from the Kong Admin API (../shared/specs/kong-openid-connect.md § Plugin
 * object, § Pagination). Only the fields it uses are checked; Kong's other 200-odd config fields pass.
 */
const stringList = z.array(z.string()).nullish();

export const pluginSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
  instance_name: z.string().nullish(),
  updated_at: z.number().int().nullish(),
  service: z.object({ id: z.string() }).nullish(),
  route: z.object({ id: z.string() }).nullish(),
  config: z.object({ issuer: z.string().nullish(), client_id: stringList, client_secret: stringList }).loose(),
});
export type KongPluginBody = z.infer<typeof pluginSchema>;

export const pluginPageSchema = z.object({
  data: z.array(z.unknown()),
  offset: z.string().nullish(),
  next: z.string().nullish(),
});
export type KongPluginPage = z.infer<typeof pluginPageSchema>;

/** A body that is not what the spec describes: a typed error that names the call, never the body (it holds secrets in clear). */
export function parseKong<T>(schema: z.ZodType<T>, data: unknown, what: string): T {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const where = r.error.issues[0]?.path.join(".") || "(root)";
  throw new RotatorError(GatewayErrorCode.BadResponse, `Kong: ${what} answered a body that is not a plugin as documented (at ${where})`, {
    hint: "Check groups[].adminUrl points at the Kong Admin API (not the proxy port), and that the Kong version documents the plugin object as in the spec.",
  });
}
