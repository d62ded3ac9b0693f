import type { Clock } from "../../common/clock.js";
import type { EmuRequest } from "../../common/server.js";
import type { KeyVaultReader } from "../apim/index.js";
import { fail, type ArmCore } from "../core.js";
import { parseReference, type AppServiceSite, type AppServiceState, type ResolveStatus, type StoredResolution } from "./state.js";

/**
 * App Service sites and slots, from ../shared/specs/appservice-keyvault-references.md: the site
 * and its slots (GET), app settings (`POST config/appsettings/list` returns them; a GET never
 * carries values; PUT replaces them and restarts the app, which fetches every reference again),
 * `config/configreferences/appsettings[/{key}]` (status of each Key Vault reference) and the
 * docs-only `config/configreferences/appsettings/refresh` POST. A site resolves its references
 * with its managed identity from the Key Vault emulator (the fixture wires it) and caches them for
 * 24 hours (§ Refresh / rotation).
 */
const WEB_API_VERSIONS = ["2022-03-01", "2023-01-01", "2024-04-01", "2024-11-01", "2025-03-01", "2025-05-01", "2026-07-15", "2026-09-01"] as const;
/** § Refresh / rotation: "re-fetches every 24 hours". */
const CACHE_MS = 24 * 3_600_000;

export interface AppServiceDeps {
  state: AppServiceState;
  clock: Clock;
  keyVault: KeyVaultReader;
  /** The vault URL a `VaultName=` reference names (default `https://<name>.vault.azure.net`). */
  vaultUrl: (vaultName: string) => string;
}

const SITE = "^(/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\\.Web/sites/[^/]+(?:/slots/[^/]+)?)";

const isSlot = (id: string): boolean => /\/slots\/[^/]+$/i.test(id);
const typeOf = (id: string, suffix = ""): string => `Microsoft.Web/sites${isSlot(id) ? "/slots" : ""}${suffix}`;

/** What a failed Key Vault read of the identity shows as `status` (the reader speaks Key Vault's codes). */
function statusOf(code: string, versioned: boolean): ResolveStatus {
  switch (code) {
    case "VaultNotFound":
      return "VaultNotFound";
    case "SecretNotFound":
      return versioned ? "SecretVersionNotFound" : "SecretNotFound";
    case "Forbidden":
      return "AccessToKeyVaultDenied";
    case "BadRequest":
      return "InvalidSyntax";
    default:
      return "OtherReasons";
  }
}

/** The site fetches every reference setting now, as on a restart or a refresh (unless it is stuck). */
export function fetchReferences(site: AppServiceSite, deps: AppServiceDeps): void {
  if (site.frozen) return;
  site.fetchedAt = deps.clock.now().getTime();
  site.resolved.clear();
  for (const [key, value] of site.settings) {
    const ref = parseReference(value);
    if (ref === undefined) continue;
    let r: StoredResolution;
    if (ref === "invalid") r = { status: "InvalidSyntax", details: "The Key Vault reference could not be parsed." };
    else if (site.identity === "None") r = { status: "MSINotEnabled", details: "The app has no managed identity to read Key Vault with." };
    else if (site.keyVaultDenied) {
      r = {
        status: "AccessToKeyVaultDenied",
        details: `The identity ${site.principalId} does not have secrets get permission on key vault '${ref.vaultName}'.`,
      };
    } else {
      const identifier =
        ref.secretUri ?? `${deps.vaultUrl(ref.vaultName).replace(/\/+$/, "")}/secrets/${ref.secretName}${ref.secretVersion ? `/${ref.secretVersion}` : ""}`;
      const got = deps.keyVault(identifier);
      if ("error" in got) r = { status: statusOf(got.error.code, ref.secretVersion !== ""), details: got.error.message };
      else {
        r = { status: "Resolved", details: "", version: got.version, value: got.value };
        deps.state.remember(got.value);
      }
    }
    site.resolved.set(key, r);
  }
}

/** The 24 h cache: a site whose last fetch is a day old fetches again before it answers (or, in ground truth, is read). */
export function current(site: AppServiceSite, deps: AppServiceDeps): AppServiceSite {
  if (site.fetchedAt === undefined || deps.clock.now().getTime() - site.fetchedAt >= CACHE_MS) fetchReferences(site, deps);
  return site;
}

function siteOf(deps: AppServiceDeps, id: string): AppServiceSite {
  const s = deps.state.site(id);
  if (!s) {
    const m = /resourceGroups\/([^/]+)\/.*\/sites\/(.+)$/i.exec(id);
    fail(
      404,
      "ResourceNotFound",
      `The Resource 'Microsoft.Web/sites/${m?.[2] ?? id}' under resource group '${m?.[1] ?? "?"}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
    );
  }
  return current(s, deps);
}

function siteResource(site: AppServiceSite): unknown {
  const name = site.id.split("/").filter(Boolean);
  return {
    id: site.id,
    name: isSlot(site.id) ? `${name.at(-3)}/${name.at(-1)}` : name.at(-1),
    type: typeOf(site.id),
    kind: "app",
    location: "West Europe",
    identity: { type: site.identity, ...(site.identity === "None" ? {} : { principalId: site.principalId }) },
    properties: { state: "Running", keyVaultReferenceIdentity: site.identity === "UserAssigned" ? "UserAssigned" : "SystemAssigned" },
  };
}

/** `ApiKVReference` (§ `ApiKVReference`): metadata only, never the value. */
function referenceResource(site: AppServiceSite, key: string): unknown {
  const value = site.settings.get(key)!;
  const ref = parseReference(value);
  const r = site.resolved.get(key) ?? { status: "Initialized" as const, details: "" };
  const parsed = ref && ref !== "invalid" ? ref : undefined;
  return {
    id: `${site.id}/config/configreferences/appsettings/${key}`,
    name: key,
    type: typeOf(site.id, "/config/configreferences"),
    properties: {
      reference: value,
      status: r.status,
      vaultName: parsed?.vaultName ?? "",
      secretName: parsed?.secretName ?? "",
      secretVersion: parsed?.secretVersion ?? "",
      identityType: { type: site.identity },
      details: r.details,
      source: "KeyVault",
      ...(site.reportsActiveVersion && r.version ? { activeVersion: r.version } : {}),
    },
  };
}

function appSettingsResource(site: AppServiceSite, withValues: boolean): unknown {
  return {
    id: `${site.id}/config/appsettings`,
    name: "appsettings",
    type: typeOf(site.id, "/config"),
    properties: withValues ? Object.fromEntries(site.settings) : {},
  };
}

export function registerAppServiceRoutes(core: ArmCore, deps: AppServiceDeps): void {
  const versions = WEB_API_VERSIONS;
  const route = (method: string, suffix: string, action: string, handler: (req: EmuRequest, site: AppServiceSite) => { status: number; body?: unknown }) =>
    core.route({
      method,
      pattern: new RegExp(`${SITE}${suffix}$`, "i"),
      // One action name for a site and its slots (Microsoft.Web/sites/slots/... in Azure): the guard matches the site's.
      action: `Microsoft.Web/sites/${action}`,
      apiVersions: versions,
      handler: (req) => handler(req, siteOf(deps, req.params[0]!)),
    });

  route("GET", "", "read", (_req, site) => ({ status: 200, body: siteResource(site) }));
  core.route({
    method: "GET",
    pattern: new RegExp(`${SITE}/slots$`, "i"),
    action: "Microsoft.Web/sites/slots/read",
    apiVersions: versions,
    handler: (req) => {
      const site = siteOf(deps, req.params[0]!);
      return { status: 200, body: { value: deps.state.slotsOf(site.id).map(siteResource) } };
    },
  });

  // A GET of the settings never carries their values; `list` does (README guess for the GET shape).
  route("GET", "/config/appsettings", "config/read", (_req, site) => ({ status: 200, body: appSettingsResource(site, false) }));
  route("POST", "/config/appsettings/list", "config/list/action", (_req, site) => ({ status: 200, body: appSettingsResource(site, true) }));
  route("PUT", "/config/appsettings", "config/write", (req, site) => {
    const props = req.json<{ properties?: unknown } | null>()?.properties;
    if (!props || typeof props !== "object" || Object.values(props).some((v) => typeof v !== "string")) {
      fail(400, "BadRequest", "The app settings must be an object of string values under 'properties'.");
    }
    site.settings = new Map(Object.entries(props as Record<string, string>));
    // § Refresh / rotation: "Any configuration change to the app causes an app restart and an immediate refetch".
    fetchReferences(site, deps);
    return { status: 200, body: appSettingsResource(site, true) };
  });

  const references = (site: AppServiceSite) => [...site.settings.keys()].filter((k) => parseReference(site.settings.get(k)!) !== undefined);
  route("GET", "/config/configreferences/appsettings", "config/read", (_req, site) => ({
    status: 200,
    body: { value: references(site).map((k) => referenceResource(site, k)) },
  }));
  route("GET", "/config/configreferences/appsettings/([^/]+)", "config/read", (req, site) => {
    const key = references(site).find((k) => k.toLowerCase() === req.params[1]!.toLowerCase());
    if (!key) fail(404, "NotFound", `Cannot find a Key Vault reference for app setting '${req.params[1]!}'.`);
    return { status: 200, body: referenceResource(site, key) };
  });
  // The docs-only refresh (not in the REST spec): the site fetches every reference now; answers the collection.
  route("POST", "/config/configreferences/appsettings/refresh", "config/configreferences/appsettings/refresh/action", (_req, site) => {
    fetchReferences(site, deps);
    return { status: 200, body: { value: references(site).map((k) => referenceResource(site, k)) } };
  });
}
