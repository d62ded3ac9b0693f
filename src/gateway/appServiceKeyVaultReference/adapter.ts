import type { ArmAdapterOptions } from "../armClient.js";

import type { GatewayConfig } from "../../config/schema.js";
import { RotatorError, ensureRotatorError } from "../../errors.js";
import { silentLogger } from "../../logging.js";
import { mapArmTargetError } from "../armErrors.js";
import { runBounded } from "../bounded.js";
import { GatewayErrorCode } from "../errors.js";
import type { GatewayAdapter, GatewayTarget } from "../types.js";
import { referenceNames, vaultNameOf, type ReferenceFields, type SetSecret } from "./reference.js";

/**
 * `appservice-keyvault-reference`: App Service and Functions app settings that reference the set's
 * Key Vault secret (../shared/specs/appservice-keyvault-references.md), over Resource Manager.
 * A target is one app setting of a configured site or slot whose `@Microsoft.KeyVault(...)` names
 * the secret without a version; one naming a version never rotates (§ Refresh / rotation): it is
 * reported as drift, never touched. Nothing is ever written: the app reads Key Vault itself.
 *
 * Targets are discovered through `config/configreferences/appsettings` (the sites `maxConcurrency` at
 * a time), which carries only metadata, never through `config/appsettings/list`, which returns
 * every setting of the app in clear (other apps' secrets included): the rotator's role needs no
 * list action.
 *
 * After promote the engine asks each site to refresh (the docs-only POST `…/refresh`, § Refresh /
 * rotation); a refusal falls back to the documented 24 h pickup. Proof (§ Verification): `status`
 * `Resolved`, and when the site fills in `activeVersion`, that it is the promoted version (the
 * `version` proof, recorded as such). Without `activeVersion` no timestamp is exposed, so a
 * `Resolved` read after a refresh this adapter made is the evidence, dated when the refresh was
 * sent (the docs: a refresh or restart re-fetches at once).
 */
export type AppServiceReferenceConfig = Extract<GatewayConfig, { kind: "appservice-keyvault-reference" }>;

export type AppServiceKeyVaultReferenceAdapterOptions = ArmAdapterOptions<AppServiceReferenceConfig>;

/** A stable Web api-version of the spec's package list. */
const API_VERSION = "2024-11-01";
/** The api-version the docs give for the refresh (it is not in the REST spec). */
const REFRESH_API_VERSION = "2022-03-01";
/** § Refresh / rotation: the app "begins using the latest version within 24 hours". */
const PICKUP_DELAY_MS = 24 * 3_600_000;
const REFERENCES = "/config/configreferences/appsettings";

interface ReferenceContract {
  name?: string;
  properties: ReferenceFields & { status?: string; activeVersion?: string; details?: string };
}

function parseReference(data: unknown, where: string): ReferenceContract {
  const d = data as Partial<ReferenceContract> | undefined;
  if (!d || typeof d !== "object" || !d.properties || typeof d.properties !== "object") {
    throw new RotatorError(GatewayErrorCode.BadResponse, `App Service: ${where} did not answer a Key Vault reference`, {
      hint: "Check the group's armEndpoint points at Resource Manager; the next pass retries.",
    });
  }
  return d as ReferenceContract;
}

export function createAppServiceKeyVaultReferenceAdapter(options: AppServiceKeyVaultReferenceAdapterOptions): GatewayAdapter {
  const { config, arm } = options;
  const now = options.now ?? (() => new Date());
  const log = (options.logger ?? silentLogger).child({ gateway: "appservice-keyvault-reference" });
  const secret: SetSecret = { ...options.secret, vaultName: config.vaultName ?? vaultNameOf(options.secret.vaultUrl) };
  const sites = config.sites.map((s) => s.replace(/\/+$/, ""));
  let clientId = options.clientId ?? "";
  /** When this adapter last had each site refresh its references (lower-cased site ID → ISO time sent). */
  const refreshedAt = new Map<string, string>();

  /** The configured site of a target ID, checked (an ID from a journal is data). */
  const siteOf = (id: string): string => {
    const site = sites.find((s) => id.toLowerCase().startsWith(`${s.toLowerCase()}${REFERENCES}/`.toLowerCase()));
    if (!site || /\//.test(id.slice(site.length + REFERENCES.length + 1))) {
      throw new RotatorError(GatewayErrorCode.TargetNotFound, `App Service: ${id} is not an app setting of a configured site`, {
        hint: "The group's sites changed since the target was recorded; the next run rediscovers targets.",
      });
    }
    return site;
  };
  /** `orders-api/SSO_SECRET`, or `orders-api/staging/SSO_SECRET` for a slot. */
  const nameOf = (site: string, key: string): string => {
    const m = /\/sites\/([^/]+)(?:\/slots\/([^/]+))?$/i.exec(site);
    return `${m?.[1] ?? "?"}${m?.[2] ? `/${m[2]}` : ""}/${key}`;
  };

  const toTarget = (site: string, key: string, c: ReferenceContract): GatewayTarget => {
    const p = c.properties;
    const resolved = p.status === "Resolved";
    const at = refreshedAt.get(site.toLowerCase());
    const version = p.activeVersion ? p.activeVersion : undefined;
    return {
      id: `${site}${REFERENCES}/${key}`,
      name: nameOf(site, key),
      tokenName: "app setting",
      tokenUrl: "",
      clientId,
      scopes: [],
      additionalParameters: {},
      pickup: {
        ok: resolved,
        ...(resolved && at ? { at } : {}),
        ...(version ? { version } : {}),
        detail:
          `status ${p.status ?? "(none)"}, ${version ? `activeVersion ${version}` : "no activeVersion"}` +
          `${p.details ? ` (${p.details})` : ""}${at ? `; last refresh asked at ${at}` : "; no refresh asked by this instance"}`,
      },
    };
  };

  const readOne = async (id: string, abortSignal: AbortSignal | undefined): Promise<{ site: string; key: string; c: ReferenceContract }> => {
    const site = siteOf(id);
    const key = id.slice(site.length + REFERENCES.length + 1);
    try {
      const res = await arm.send({
        method: "GET",
        path: `${site}${REFERENCES}/${encodeURIComponent(key)}`,
        apiVersion: API_VERSION,
        ...(abortSignal ? { abortSignal } : {}),
      });
      return { site, key, c: parseReference(res.data, `GET ${id}`) };
    } catch (e) {
      throw mapArmTargetError(e, { targetId: id, what: "App Service Key Vault reference" });
    }
  };

  const adapter: GatewayAdapter = {
    kind: "appservice-keyvault-reference",
    capabilities: {
      delivery: "keyVault",
      pickupProof: "status",
      maxConcurrency: config.maxConcurrency,
      testConnection: false,
      maxPickupDelayMs: PICKUP_DELAY_MS,
    },

    async listTargets(filter, callOptions) {
      clientId = filter.clientId;
      const abortSignal = callOptions?.abortSignal;
      // Every configured site or slot is listed at once, `maxConcurrency` at a time (the listings are
      // independent reads; the ARM client paces them by the subscription's read budget), and their
      // settings are taken in the configured order.
      const listed = await runBounded(
        sites.map((id) => ({ id })),
        config.maxConcurrency,
        abortSignal,
        async ({ id: site }) => {
          try {
            return await arm.list(`${site}${REFERENCES}`, API_VERSION, abortSignal ? { abortSignal } : {});
          } catch (e) {
            throw mapArmTargetError(e, { what: `App Service site ${nameOf(site, "").slice(0, -1)}` });
          }
        },
        undefined,
        "Listing the App Service sites was cancelled before every site answered",
      );
      const out: GatewayTarget[] = [];
      sites.forEach((site, i) => {
        for (const raw of listed[i]!) {
          const c = parseReference(raw, `GET ${site}${REFERENCES}`);
          // The id ends with the setting's key (the examples carry no `name`; a proxy resource's name may be qualified).
          const id = (raw as { id?: unknown }).id;
          const key = (typeof id === "string" ? id.split("/").at(-1) : undefined) ?? c.name;
          const names = referenceNames(c.properties, secret);
          if (!key || !names) continue;
          const t = toTarget(site, key, c);
          if (names === "versioned") {
            // § Refresh / rotation: "A versioned reference … never rotates until the setting is changed".
            filter.onDrift?.(
              t,
              `its Key Vault reference names a version of ${secret.secretName}: it never rotates and breaks when that version's credential is retired — remove the version (SecretVersion= or the URI's last segment)`,
            );
            continue;
          }
          out.push(t);
        }
      });
      log.debug(`${out.length} app setting(s) reference ${secret.secretName} on ${sites.length} site(s)`);
      return out;
    },

    async readTarget(id, callOptions) {
      const { site, key, c } = await readOne(id, callOptions?.abortSignal);
      if (referenceNames(c.properties, secret) !== "current") {
        throw new RotatorError(GatewayErrorCode.TargetChanged, `App Service: ${id} no longer references ${secret.secretName} without a version`, {
          hint: "Someone changed the app setting's Key Vault reference; the next run rediscovers targets.",
        });
      }
      return toTarget(site, key, c);
    },

    updateClientSecret(id) {
      return Promise.reject(
        new RotatorError("TARGET_REFRESH_REFUSED", `App Service: ${id} reads Key Vault itself; its setting is never written`, {
          hint: "This is a defect in the rotator (a Key Vault reference is refreshed, not written): report it.",
        }),
      );
    },

    async requestRefresh(id, callOptions) {
      const abortSignal = callOptions?.abortSignal;
      const site = siteOf(id);
      // Dated before it is sent: the site fetches at or after this instant.
      const at = now().toISOString();
      try {
        // Docs-only (not in the REST spec): no body, any 200; the GET below is the confirmation.
        await arm.send({
          method: "POST",
          path: `${site}${REFERENCES}/refresh`,
          apiVersion: REFRESH_API_VERSION,
          idempotent: true,
          ...(abortSignal ? { abortSignal } : {}),
        });
      } catch (e) {
        const err = ensureRotatorError(e);
        if (err.code === "ARM_FORBIDDEN" || err.code === "ARM_REJECTED" || err.code === "ARM_NOT_FOUND") {
          await adapter.readTarget(id, callOptions); // a deleted or changed setting is not "refused"
          throw new RotatorError(
            "TARGET_REFRESH_REFUSED",
            `App Service refused to refresh the Key Vault references of ${nameOf(site, "").slice(0, -1)} (${err.upstreamCode ?? err.code})`,
            {
              hint: "Grant the rotator's identity the refresh of Key Vault references on the site (docs/deployment.md); until then the app picks the new version up by itself within 24 hours.",
              ...(err.status !== undefined ? { status: err.status } : {}),
              cause: err,
            },
          );
        }
        throw mapArmTargetError(err, { targetId: id, what: "App Service Key Vault references (refresh)" });
      }
      refreshedAt.set(site.toLowerCase(), at);
      return adapter.readTarget(id, callOptions);
    },
  };
  return adapter;
}
