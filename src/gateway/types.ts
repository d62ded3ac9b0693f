import type { TokenCredential } from "@azure/core-auth";
import type { GatewayConfig } from "../config/schema.js";
import type { HttpClient } from "../http/client.js";
import type { Logger } from "../logging.js";
import type { RateLimiter } from "./rateLimiter.js";
import type { TenantIdentity } from "./tenant.js";

/** One OAuth 2.0 client-credentials entry on the gateway whose client ID is the set's. */
export interface GatewayTarget {
  id: string;
  name: string;
  tokenName: string;
  tokenUrl: string;
  clientId: string;
  scopes: string[];
  additionalParameters: Record<string, string>;
  secretUpdatedAt?: string;
  /** sha256(salt ‖ secret), hex; proves which secret a target holds without revealing it. */
  secretFingerprint?: string;
  fingerprintSalt?: string;
  etag?: string;
  /**
   * What a consumer that reads Key Vault itself reports of its last fetch, secret-free: whether it
   * succeeded, when, and which version when it says. The `status` and `version` proofs read it (proof.ts).
   */
  pickup?: { ok: boolean; at?: string; version?: string; detail?: string };
}

/** A target known only by its name (an operator's list, a consumer with nothing to read back): no token details. */
export function namedTarget(name: string, clientId: string): GatewayTarget {
  return { id: name, name, tokenName: "", tokenUrl: "", clientId, scopes: [], additionalParameters: {} };
}

export interface GatewayCallOptions {
  abortSignal?: AbortSignal;
}

export interface TargetFilter {
  clientId: string;
  /** When given, only targets whose token URL points at this tenant's token endpoint. */
  tokenUrls?: string[];
  /**
   * When given, a server with the client ID whose token URL names another tenant (any form:
   * GUID, domain, authority host) is not a target: it goes to `onDrift` instead.
   */
  tenant?: TenantIdentity;
  onDrift?: (target: GatewayTarget, why: string) => void;
  /**
   * A target the consumer refreshes by itself from Key Vault (e.g. a Kong plugin holding a
   * `{vault://…}` reference): not listed as a target and never written; reported here instead.
   */
  onRefreshedByConsumer?: (target: GatewayTarget, why: string) => void;
}

/** How a target's pickup of the new secret is proven; recorded on each target's journal entry. */
export type PickupProof = "fingerprint" | "status" | "version" | "time" | "operator";

/**
 * What an adapter can do (DESIGN.md § Components): the rotation engine reads these, never the
 * adapter's kind, so a new kind is one folder under src/gateway/, one factory line and one schema member.
 */
interface GatewayCapabilities {
  /**
   * How a new secret reaches the targets: `push` (the engine writes it), `keyVault` (the consumer
   * fetches it from Key Vault after a refresh), `operator` (a person pastes it and confirms).
   */
  delivery: "push" | "keyVault" | "operator";
  /**
   * How pickup is proven: `fingerprint` (a read-back shows which secret a target holds), `status`
   * (the target reports it refreshed), `version` (the target reports the Key Vault version it uses),
   * `time` (nothing to read: pickup is assumed `maxPickupDelayMs` after promote), `operator` (the
   * confirmation is the proof; nothing to read back).
   */
  pickupProof: PickupProof;
  /** Targets written at once. */
  maxConcurrency: number;
  /** Whether the engine asks the gateway to fetch a token with what it stores after a write (`testConnection`). */
  testConnection: boolean;
  /** The documented maximum delay before a `keyVault` consumer picks up a Key Vault change; required for `time` proof, absent when pushed or confirmed. */
  maxPickupDelayMs?: number;
}

export interface GatewayAdapter {
  /** For people and telemetry only; the engine reads `capabilities`. The config schema's union names the kinds. */
  readonly kind: GatewayConfig["kind"];
  readonly capabilities: GatewayCapabilities;
  /** Every target for the client ID, across all pages. */
  listTargets(filter: TargetFilter, options?: GatewayCallOptions): Promise<GatewayTarget[]>;
  readTarget(id: string, options?: GatewayCallOptions): Promise<GatewayTarget>;
  /** Replaces the stored client secret; with `ifMatch`, a stale ETag fails with GATEWAY_PRECONDITION_FAILED. */
  updateClientSecret(id: string, clientSecret: string, options?: GatewayCallOptions & { ifMatch?: string }): Promise<GatewayTarget>;
  /**
   * For `keyVault` delivery: asks the consumer to fetch the secret from Key Vault now, and resolves
   * with the target as read afterwards. Throws TARGET_REFRESH_REFUSED when the consumer cannot be
   * asked (the engine then waits `maxPickupDelayMs` after promote for that target). Absent: the
   * consumer refreshes on its own schedule.
   */
  requestRefresh?(id: string, options?: GatewayCallOptions): Promise<GatewayTarget>;
  /** Asks the gateway to fetch a token with what it stores; undefined when the gateway cannot. */
  testConnection?(id: string, options?: GatewayCallOptions): Promise<{ ok: boolean; detail: string }>;
}

/** What the factory hands every kind's adapter; each kind takes what it needs. */
export interface GatewayAdapterDeps {
  /** The group's API token from Key Vault, when its config names one (`gatewayTokenSecretField`). */
  apiToken?: string;
  http: HttpClient;
  rateLimiter?: RateLimiter;
  logger?: Logger;
  /** The set's client ID (Kong reads a plugin's aligned secret by it). */
  clientId?: string;
  /** The rotator's identity, for kinds reached through Azure Resource Manager. */
  credential?: TokenCredential;
  /** The set's Entra authority: the Resource Manager of its cloud is used unless the group names one. */
  authorityHost?: string;
  /** The set's Key Vault secret, for consumers that reference it. */
  keyVaultSecret?: { vaultUrl: string; secretName: string };
  /** The engine's clock (a status read after a write is dated by it). */
  now?: () => Date;
}

/**
 * One target kind, as its folder under src/gateway/ exports it: the factory's registry holds one
 * of these per member of the config schema's union, so a new kind touches no other file.
 */
export interface GatewayKind<C extends GatewayConfig> {
  create(config: C, deps: GatewayAdapterDeps): GatewayAdapter;
  /** One secret-free line for `check-config` and the demo. */
  describe(config: C): string;
  /** The URLs the rotator calls for this group, by config field, for the private-network report. */
  endpoints(config: C): [field: string, url: string][];
}
