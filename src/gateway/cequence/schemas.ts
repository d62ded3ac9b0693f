import { z } from "zod";
import { RotatorError } from "../../errors.js";
import { GatewayErrorCode } from "../errors.js";

/**
 * The gateway's answers as docs/gateway-contract.md defines them. Unknown fields are ignored
 * (the gateway may add some); missing or mistyped fields we rely on are a GATEWAY_BAD_RESPONSE
 * naming the field, never a silent `undefined` further down.
 */
const isoDateTime = z.string().refine((v) => !Number.isNaN(Date.parse(v)), { error: "must be an RFC 3339 date-time" });

export const oauth2AuthenticationSchema = z.object({
  type: z.literal("oauth2"),
  tokenName: z.string(),
  tokenUrl: z.string().min(1),
  clientId: z.string().min(1),
  scopes: z.array(z.string()),
  additionalParameters: z.record(z.string(), z.string()).default({}),
  secretUpdatedAt: isoDateTime.nullable().optional(),
  secretFingerprint: z.string().regex(/^[0-9a-fA-F]{64}$/, { error: "must be 64 hex characters (sha256)" }),
  fingerprintSalt: z.string(),
});

/** An MCP server before we know its authentication kind: only oauth2 entries are targets. */
export const mcpServerSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
  authentication: z.object({ type: z.string() }).loose().nullable().optional(),
  etag: z.string().min(1),
});
export type McpServer = z.infer<typeof mcpServerSchema>;

export const mcpServerPageSchema = z.object({
  items: z.array(mcpServerSchema),
  nextCursor: z.string().min(1).nullable().optional(),
  /** The optional numbered-pages extension, offered on a listing's first page (docs/gateway-contract.md). */
  pagination: z.object({ snapshot: z.string().min(1), pageCount: z.number().int().min(1), total: z.number().int().min(0) }).optional(),
  /** The optional listing ETag, on a listing's first page: equal to its ETag header (docs/gateway-contract.md). */
  listingEtag: z.string().min(1).optional(),
});

export const testConnectionSchema = z.object({
  ok: z.boolean(),
  detail: z.string(),
});

/** Parses `data` or throws GATEWAY_BAD_RESPONSE naming every bad field (paths and rules only, never values). */
export function parseGatewayResponse<S extends z.ZodType>(schema: S, data: unknown, what: string, pathPrefix = ""): z.output<S> {
  if (typeof data === "string") {
    // HttpClient hands over text when the body did not parse as JSON (an HTML error page from a proxy, say).
    throw badResponse(
      what,
      `the body is not a JSON object (${data.trim() === "" ? "it is empty" : `it starts with ${JSON.stringify(data.trim().slice(0, 1))}`})`,
    );
  }
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const fields = r.error.issues.slice(0, 5).map((i) => `${formatPath(pathPrefix, i.path)}: ${i.message}`);
  const more = r.error.issues.length > 5 ? ` (+${r.error.issues.length - 5} more)` : "";
  throw badResponse(what, `${fields.join("; ")}${more}`);
}

export function badResponse(what: string, detail: string): RotatorError {
  return new RotatorError(GatewayErrorCode.BadResponse, `Gateway: ${what} answered with a body that does not follow the gateway contract: ${detail}`, {
    hint: "The gateway's API does not match docs/gateway-contract.md (or a proxy answered instead of it). Check gateway.baseUrl and gateway.paths, and the gateway's API version.",
    retryable: false,
  });
}

function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? String(p) : `.${String(p)}`;
  return out === "" ? "(body)" : out;
}
