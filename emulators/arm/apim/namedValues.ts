import type { Clock } from "../../common/clock.js";
import type { EmuRequest } from "../../common/server.js";
import { fail, type ArmContext, type ArmCore } from "../core.js";
import { newEtag, type ApimService, type ApimState, type StoredNamedValue } from "./state.js";

/**
 * API Management named values, from ../shared/specs/apim-named-values.md: list (pageable,
 * `$top`/`$skip`, `isKeyVaultRefreshFailed`), GET/HEAD with ETag and no value for secret or Key
 * Vault-backed ones, PUT and PATCH as long-running operations (the change happens when the
 * operation completes), `listValue` (the one route that returns a value), `refreshSecret`
 * (long-running: the service reads the Key Vault secret with its identity and records
 * `keyVault.lastStatus`), DELETE with a required If-Match.
 */
const NAMED_VALUE_API_VERSIONS = ["2024-05-01", "2025-03-01-preview"] as const;

/** Resolves a Key Vault secret identifier as the service's identity would (the fixture wires the Key Vault emulator). */
export type KeyVaultReader = (secretIdentifier: string) => { value: string; version: string } | { error: { code: string; message: string } };

export interface NamedValueDeps {
  state: ApimState;
  clock: Clock;
  keyVault: KeyVaultReader;
  /** Page size of the list (the service's own; `$top` may lower it). */
  pageSize: () => number;
}

const SERVICE = "^(/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\\.ApiManagement/service/[^/]+)";
const NAME = "([^/]+)";

function serviceOf(state: ApimState, id: string): ApimService {
  const s = state.service(id);
  if (!s) {
    const m = /resourceGroups\/([^/]+)\/.*\/service\/([^/]+)$/i.exec(id);
    fail(
      404,
      "ResourceNotFound",
      `The Resource 'Microsoft.ApiManagement/service/${m?.[2] ?? id}' under resource group '${m?.[1] ?? "?"}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
    );
  }
  return s;
}

function entityOf(service: ApimService, name: string): StoredNamedValue {
  const nv = service.namedValues.get(name.toLowerCase());
  if (!nv) fail(404, "ResourceNotFound", "Named value not found.");
  return nv;
}

/** The contract as the API shows it: no value when secret or Key Vault-backed ("No secrets included"). */
function namedValueContract(serviceId: string, nv: StoredNamedValue, extra: Record<string, unknown> = {}): unknown {
  return {
    id: `${serviceId}/namedValues/${nv.name}`,
    type: "Microsoft.ApiManagement/service/namedValues",
    name: nv.name,
    properties: {
      displayName: nv.displayName,
      ...(nv.secret || nv.keyVault ? {} : { value: nv.value }),
      ...(nv.keyVault
        ? {
            keyVault: {
              secretIdentifier: nv.keyVault.secretIdentifier,
              identityClientId: nv.keyVault.identityClientId,
              ...(nv.keyVault.lastStatus ? { lastStatus: nv.keyVault.lastStatus } : {}),
            },
          }
        : {}),
      tags: nv.tags,
      secret: nv.secret,
      ...extra,
    },
  };
}

interface NamedValueInput {
  displayName?: unknown;
  value?: unknown;
  keyVault?: { secretIdentifier?: unknown; identityClientId?: unknown } | null;
  tags?: unknown;
  secret?: unknown;
}

/** Validation of § Bodies; the messages are guesses (README). */
function validate(p: NamedValueInput, creating: boolean): void {
  const problems: string[] = [];
  if (creating && typeof p.displayName !== "string") problems.push("'displayName' is required.");
  if (p.displayName !== undefined && (typeof p.displayName !== "string" || !/^[A-Za-z0-9-._]{1,256}$/.test(p.displayName))) {
    problems.push("'displayName' may contain only letters, digits, periods, dashes and underscores (1-256 characters).");
  }
  if (p.value !== undefined && (typeof p.value !== "string" || p.value.trim() === "" || p.value.length > 4096)) {
    problems.push("'value' must be 1-4096 characters and not only whitespace.");
  }
  if (creating && p.value === undefined && !p.keyVault) problems.push("Either 'value' or 'keyVault' is required.");
  if (p.value !== undefined && p.keyVault) problems.push("Give either 'value' or 'keyVault', not both.");
  if (p.keyVault && typeof p.keyVault.secretIdentifier !== "string") problems.push("'keyVault.secretIdentifier' is required.");
  if (p.tags !== undefined && (!Array.isArray(p.tags) || p.tags.length > 32)) problems.push("'tags' must be a list of at most 32 strings.");
  if (problems.length > 0) fail(400, "ValidationError", `One or more fields contain incorrect values: ${problems.join(" ")}`);
}

/** Fetches a named value's Key Vault secret as the service's identity; records lastStatus either way. */
export function fetchNamedValue(
  service: ApimService,
  nv: StoredNamedValue,
  deps: Pick<NamedValueDeps, "state" | "clock" | "keyVault">,
): void | { code: string; message: string } {
  if (!nv.keyVault) return { code: "BadRequest", message: "The named value is not backed by Key Vault." };
  const got = service.keyVaultBroken ? { error: service.keyVaultBroken } : deps.keyVault(nv.keyVault.secretIdentifier);
  const at = deps.clock.now().toISOString();
  if ("error" in got) {
    nv.keyVault.lastStatus = { code: got.error.code, message: got.error.message, timeStampUtc: at };
    nv.etag = newEtag();
    return { code: "KeyVaultSecretRetrievalFailed", message: `Failed to retrieve secret from Key Vault: ${got.error.code}: ${got.error.message}` };
  }
  nv.value = got.value;
  nv.fetchedVersion = got.version;
  deps.state.remember(got.value);
  // The examples show a successful status without `message` (§ Bodies: "otherwise empty").
  nv.keyVault.lastStatus = { code: "Success", timeStampUtc: at };
  nv.etag = newEtag();
  return undefined;
}

export function registerNamedValueRoutes(core: ArmCore, deps: NamedValueDeps): void {
  const { state } = deps;
  const on = core.routesOf("Microsoft.ApiManagement/service/namedValues", NAMED_VALUE_API_VERSIONS);
  const one = new RegExp(`${SERVICE}/namedValues/${NAME}$`, "i");

  const refresh = (service: ApimService, nv: StoredNamedValue): void | { code: string; message: string } => fetchNamedValue(service, nv, deps);

  const lro = (
    req: EmuRequest,
    ctx: ArmContext,
    serviceId: string,
    finalPath: string,
    asyncCode: number,
    complete: () => void | { code: string; message: string },
  ) => core.startOperation({ origin: ctx.origin, operationsBase: `${serviceId}/tenant`, finalPath, apiVersion: ctx.apiVersion, asyncCode, complete });

  /** The service and named value a route's path names (404 for either missing). */
  const found = (req: EmuRequest): { service: ApimService; nv: StoredNamedValue } => {
    const service = serviceOf(state, req.params[0]!);
    return { service, nv: entityOf(service, req.params[1]!) };
  };
  /** 200 with the contract and its ETag (GET, and the location of a finished refresh). */
  const shown = (req: EmuRequest) => {
    const { service, nv } = found(req);
    return { status: 200, headers: { ETag: nv.etag }, body: namedValueContract(service.id, nv) };
  };

  on("GET", new RegExp(`${SERVICE}/namedValues$`, "i"), "read", (req, ctx) => {
    const service = serviceOf(state, req.params[0]!);
    let items = [...service.namedValues.values()];
    if (req.query.get("isKeyVaultRefreshFailed") === "true") items = items.filter((nv) => nv.keyVault?.lastStatus && nv.keyVault.lastStatus.code !== "Success");
    const skip = Number(req.query.get("$skip") ?? "0");
    const top = Math.min(Number(req.query.get("$top") ?? String(deps.pageSize())), deps.pageSize());
    if (!Number.isInteger(skip) || skip < 0 || !Number.isInteger(top) || top < 1)
      fail(400, "ValidationError", "'$top' must be at least 1 and '$skip' at least 0.");
    const page = items.slice(skip, skip + top);
    const more = skip + top < items.length;
    const q = new URLSearchParams(req.query);
    q.set("$skip", String(skip + top));
    q.set("$top", String(top));
    return {
      status: 200,
      body: {
        value: page.map((nv) => namedValueContract(service.id, nv)),
        count: items.length,
        ...(more ? { nextLink: `${ctx.origin}${req.rawPath}?${q.toString()}` } : {}),
      },
    };
  });

  on("GET", one, "read", (req) => shown(req));

  on("HEAD", one, "read", (req) => {
    return { status: 200, headers: { ETag: found(req).nv.etag } };
  });

  const checkIfMatch = (req: EmuRequest, nv: StoredNamedValue, required: boolean): void => {
    const given: string | string[] | undefined = req.headers["if-match"];
    const value = typeof given === "string" ? given : given?.[0];
    if (value === undefined) {
      if (required) fail(400, "InvalidRequest", "The 'If-Match' header is required for this operation.");
      return;
    }
    if (value !== "*" && value !== nv.etag) fail(412, "PreconditionFailed", "The entity state differs from the one given in the 'If-Match' header.");
  };

  on("PUT", one, "write", (req, ctx) => {
    const service = serviceOf(state, req.params[0]!);
    const name = req.params[1]!;
    const props = req.json<{ properties?: NamedValueInput } | null>()?.properties ?? {};
    validate(props, true);
    const existing = service.namedValues.get(name.toLowerCase());
    if (existing) checkIfMatch(req, existing, false);
    const next: StoredNamedValue = {
      name: existing?.name ?? name,
      displayName: props.displayName as string,
      tags: (props.tags as string[] | undefined) ?? [],
      secret: props.keyVault ? true : props.secret === true,
      value: props.keyVault ? undefined : (props.value as string),
      ...(props.keyVault
        ? {
            keyVault: {
              secretIdentifier: props.keyVault.secretIdentifier as string,
              identityClientId: (props.keyVault.identityClientId as string | undefined) ?? null,
            },
          }
        : {}),
      etag: newEtag(),
    };
    state.remember(next.value);
    const code = existing ? 200 : 201;
    const op = lro(req, ctx, service.id, `${service.id}/namedValues/${next.name}`, code, () => {
      service.namedValues.set(name.toLowerCase(), next);
      return next.keyVault ? refresh(service, next) : undefined;
    });
    return { status: code, headers: { ...op.headers, ETag: next.etag }, body: namedValueContract(service.id, next, { provisioningState: "InProgress" }) };
  });

  on("PATCH", one, "write", (req, ctx) => {
    const { service, nv } = found(req);
    checkIfMatch(req, nv, true);
    const props = req.json<{ properties?: NamedValueInput } | null>()?.properties ?? {};
    validate(props, false);
    if (props.value !== undefined && nv.keyVault && props.keyVault === undefined)
      fail(400, "ValidationError", "A Key Vault-backed named value takes 'keyVault', not 'value'.");
    state.remember(props.value as string | undefined);
    const op = lro(req, ctx, service.id, `${service.id}/namedValues/${nv.name}`, 200, () => {
      if (props.displayName !== undefined) nv.displayName = props.displayName as string;
      if (props.tags !== undefined) nv.tags = props.tags as string[];
      if (props.secret !== undefined && !nv.keyVault) nv.secret = props.secret === true;
      if (props.value !== undefined) nv.value = props.value as string;
      nv.etag = newEtag();
      if (props.keyVault) {
        nv.keyVault = {
          secretIdentifier: props.keyVault.secretIdentifier as string,
          identityClientId: (props.keyVault.identityClientId as string | undefined) ?? null,
        };
        nv.value = undefined;
        nv.secret = true;
        return refresh(service, nv);
      }
      return undefined;
    });
    return { status: 202, headers: op.headers };
  });

  on("DELETE", one, "delete", (req) => {
    const service = serviceOf(state, req.params[0]!);
    const nv = service.namedValues.get(req.params[1]!.toLowerCase());
    if (!nv) return { status: 204 };
    checkIfMatch(req, nv, true);
    service.namedValues.delete(nv.name.toLowerCase());
    return { status: 200 };
  });

  on("POST", new RegExp(`${SERVICE}/namedValues/${NAME}/listValue$`, "i"), "listValue/action", (req) => {
    const { nv } = found(req);
    return { status: 200, headers: { ETag: nv.etag }, body: { value: nv.value ?? "" } };
  });

  on("POST", new RegExp(`${SERVICE}/namedValues/${NAME}/refreshSecret$`, "i"), "refreshSecret/action", (req, ctx) => {
    const { service, nv } = found(req);
    if (!nv.keyVault) fail(400, "ValidationError", "Only a named value backed by Key Vault can be refreshed.");
    const op = lro(req, ctx, service.id, `${service.id}/namedValues/${nv.name}/refreshSecret`, 201, () => refresh(service, nv));
    return { status: 202, headers: op.headers };
  });

  // The location of a finished refresh (final-state-via: location) answers the named value (§ Paths, example 200 body).
  on("GET", new RegExp(`${SERVICE}/namedValues/${NAME}/refreshSecret$`, "i"), "read", (req) => shown(req));
}
