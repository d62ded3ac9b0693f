import type { EmulatorServer, EmuRequest, EmuResponse } from "../common/server.js";
import { isResponse, type SecretAction, type VaultAuth } from "./auth.js";
import { KeyVaultServiceError, kvErrors } from "./errors.js";
import type { SetSecretInput, UpdateSecretInput, VaultState } from "./state.js";

/**
 * The Key Vault secrets data plane over HTTP, as `@azure/keyvault-secrets` calls it:
 * query `api-version` (sent as `api%2Dversion`), JSON bodies, unix-second dates, paged lists
 * with `nextLink` + `$skiptoken` + `maxresults` (1–25, default 25).
 */
const VAULT_NAME = "emulator";
const MAX_PAGE = 25;

type Op = (req: EmuRequest) => EmuResponse;

export function registerSecretRoutes(server: EmulatorServer, state: VaultState, auth: VaultAuth): void {
  /** Every data-plane call: challenge first (as the real service, before looking at the path), then RBAC, then the operation. */
  const guarded =
    (action: SecretAction, op: Op) =>
    (req: EmuRequest): EmuResponse => {
      const caller = auth.authenticate(req);
      if (isResponse(caller)) return caller;
      try {
        if (!req.query.get("api-version")) throw kvErrors.badParameter("The 'api-version' query parameter is required.");
        auth.authorize(caller, action, req.params[0], VAULT_NAME);
        return op(req);
      } catch (e) {
        if (e instanceof KeyVaultServiceError) return e.toResponse();
        throw e;
      }
    };

  const name = (req: EmuRequest): string => req.params[0]!;

  server.route(
    "GET",
    /^\/secrets\/?$/,
    guarded("readMetadata", (req) =>
      paged(
        req,
        server,
        state.listSecrets().map((s) => state.secretItem(s)),
      ),
    ),
  );

  server.route(
    "PUT",
    /^\/secrets\/([^/]+)$/,
    guarded("setSecret", (req) => {
      const body = req.json<SetSecretInput | null>() ?? {};
      const { secret, version } = state.setSecret(name(req), body);
      return { status: 200, body: state.bundle(secret, version, true) };
    }),
  );

  server.route(
    "DELETE",
    /^\/secrets\/([^/]+)\/?$/,
    guarded("delete", (req) => ({ status: 200, body: state.deletedBundle(state.deleteSecret(name(req))) })),
  );

  server.route(
    "GET",
    /^\/secrets\/([^/]+)\/versions$/,
    guarded("readMetadata", (req) => {
      const { secret, versions } = state.listVersions(name(req));
      return paged(req, server, secret ? versions.map((v) => state.versionItem(secret, v)) : []);
    }),
  );

  // GET /secrets/{name}/ (latest; the SDK sends the trailing slash), /secrets/{name}, /secrets/{name}/{version}
  server.route(
    "GET",
    /^\/secrets\/([^/]+)(?:\/([^/]*))?$/,
    guarded("getSecret", (req) => {
      const { secret, version } = state.readValue(name(req), req.params[1] ?? "");
      return { status: 200, body: state.bundle(secret, version, true) };
    }),
  );

  server.route(
    "PATCH",
    /^\/secrets\/([^/]+)(?:\/([^/]*))?$/,
    guarded("update", (req) => {
      const body = req.json<UpdateSecretInput | null>() ?? {};
      const { secret, version } = state.updateVersion(name(req), req.params[1] ?? "", body);
      return { status: 200, body: state.bundle(secret, version, false) };
    }),
  );

  server.route(
    "GET",
    /^\/deletedsecrets\/?$/,
    guarded("readMetadata", (req) =>
      paged(
        req,
        server,
        state.listDeleted().map((s) => state.deletedItem(s)),
      ),
    ),
  );

  server.route(
    "GET",
    /^\/deletedsecrets\/([^/]+)\/?$/,
    guarded("readMetadata", (req) => ({ status: 200, body: state.deletedBundle(state.getDeleted(name(req))) })),
  );

  server.route(
    "POST",
    /^\/deletedsecrets\/([^/]+)\/recover$/,
    guarded("recover", (req) => {
      const secret = state.recover(name(req));
      const { version } = state.latest(secret.name);
      return { status: 200, body: state.bundle(secret, version, false) };
    }),
  );

  server.route(
    "DELETE",
    /^\/deletedsecrets\/([^/]+)\/?$/,
    guarded("purge", (req) => {
      state.purge(name(req));
      return { status: 204 };
    }),
  );
}

/** One page of a listing and the absolute `nextLink` the SDK follows verbatim. */
function paged(req: EmuRequest, server: EmulatorServer, items: unknown[]): EmuResponse {
  const rawMax = req.query.get("maxresults");
  const max = rawMax === null ? MAX_PAGE : Number(rawMax);
  if (!Number.isInteger(max) || max < 1 || max > MAX_PAGE) {
    throw kvErrors.badParameter(`Invalid value for 'maxresults': it must be an integer from 1 to ${MAX_PAGE}.`);
  }
  const skip = decodeSkipToken(req.query.get("$skiptoken"));
  const page = items.slice(skip, skip + max);
  const next = skip + max;
  let nextLink: string | null = null;
  if (next < items.length) {
    const q = new URLSearchParams({ "api-version": req.query.get("api-version") ?? "", $skiptoken: encodeSkipToken(next), maxresults: String(max) });
    nextLink = `${server.url}${req.rawPath}?${q.toString()}`;
  }
  return { status: 200, body: { value: page, nextLink } };
}

function encodeSkipToken(offset: number): string {
  return Buffer.from(JSON.stringify({ NextMarker: offset })).toString("base64url");
}

function decodeSkipToken(token: string | null): number {
  if (!token) return 0;
  try {
    const n = (JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { NextMarker?: unknown }).NextMarker;
    if (typeof n === "number" && Number.isInteger(n) && n >= 0) return n;
  } catch {
    // fall through
  }
  throw kvErrors.badParameter("The '$skiptoken' query parameter is invalid.");
}
