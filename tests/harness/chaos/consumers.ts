import { randomUUID } from "node:crypto";
import { ArmEmulator } from "../../../emulators/arm/index.js";
import { KongEmulator } from "../../../emulators/kong/index.js";
import type { EmulatorServer } from "../../../emulators/common/server.js";
import type { World } from "../world.js";
import type { ConsumerKind } from "./events.js";
import type { Consumer } from "./oracle.js";

/**
 * The chaos estate's consumers beyond the gateway (issue 24): a Kong Admin API and a Resource
 * Manager (API Management, App Service) beside the world, started once per simulator and emptied
 * between schedules. A schedule that draws a kind gets that kind's target group and its consumers,
 * every one seeded with the hand-made secret (or a reference to it); `consumers()` is their ground
 * truth — the secret each one really uses, read from the emulators' state, never from src/.
 */
const SUB = "/subscriptions/00000000-0000-0000-0000-0000000c4a05/resourceGroups/rg-chaos/providers";
const APIM = `${SUB}/Microsoft.ApiManagement/service/apim-chaos`;
const SITE = `${SUB}/Microsoft.Web/sites/chaos-func`;
const SETTING = "SSO_CLIENT_SECRET";
const KONG_TOKEN_SECRET = "kong-admin-token";

/** What the seeding needs to know of the set. */
interface SetFacts {
  clientId: string;
  secretName: string;
  handMadeSecret: string;
}

export class ConsumerEmulators {
  readonly kongAdminToken = `kong-admin-${randomUUID()}`;
  readonly arm: ArmEmulator;
  readonly kong: KongEmulator;
  /** The set of the schedule running now (consumers are the client's only). */
  private current?: SetFacts & { kinds: readonly ConsumerKind[] };

  private constructor(private readonly world: World) {
    this.arm = world.armEmulator();
    this.kong = new KongEmulator({ adminToken: this.kongAdminToken, clock: world.clock });
  }

  static async start(world: World): Promise<ConsumerEmulators> {
    const c = new ConsumerEmulators(world);
    world.entra.registerResource("https://management.azure.com");
    await Promise.all([c.arm.start(), c.kong.start()]);
    return c;
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.arm.close(), this.kong.close()]);
  }

  /** The servers a fault can be injected into, by the schedule's dependency name. */
  servers(): { arm: EmulatorServer; kong: EmulatorServer } {
    return { arm: this.arm.server, kong: this.kong.server };
  }

  /** The set's target groups for `kinds` (one or two per kind), after its first (gateway or manual) group. */
  groups(kinds: readonly ConsumerKind[]): Record<string, unknown>[] {
    const arm = { armEndpoint: this.arm.url };
    const byKind: Record<ConsumerKind, Record<string, unknown>[]> = {
      "kong-openid-connect": [{ kind: "kong-openid-connect", adminUrl: this.kong.url, adminTokenSecretName: KONG_TOKEN_SECRET, maxRequestsPerSecond: 500 }],
      // A group has one mode: one refreshes the Key Vault-backed values, the other writes the plain one listed by name.
      "apim-named-value": [
        { kind: "apim-named-value", services: [APIM], ...arm },
        { kind: "apim-named-value", services: [APIM], plainNamedValues: ["sso-plain"], ...arm },
      ],
      "apim-credential-manager": [{ kind: "apim-credential-manager", services: [APIM], ...arm }],
      "appservice-keyvault-reference": [{ kind: "appservice-keyvault-reference", sites: [SITE], ...arm }],
    };
    return kinds.flatMap((k) => byKind[k]);
  }

  /**
   * A clean slate, then each drawn kind's consumers holding the hand-made secret: two Kong plugins
   * of the client (one serving another app first) and one on a `{vault://…}` reference, beside
   * another app's; a Key Vault-backed and a plain named value; an authorization-code provider and
   * a client-credentials connection; a Function app's Key Vault reference.
   */
  seed(set: SetFacts, kinds: readonly ConsumerKind[]): void {
    this.reset();
    this.current = { ...set, kinds };
    if (kinds.length === 0) return;
    const { clientId, handMadeSecret: old } = set;
    const secretUri = `${this.world.keyVault.url}/secrets/${set.secretName}`;
    this.world.keyVault.seedSecret(KONG_TOKEN_SECRET, this.kongAdminToken);
    this.arm.apim.seedService(APIM);
    const issuer = `${this.world.authorityHost}/${this.world.tenantId}/v2.0`;
    for (const kind of kinds) {
      switch (kind) {
        case "kong-openid-connect":
          this.kong.seedPlugin({ issuer, clientIds: [clientId], clientSecrets: [old], instanceName: "oidc-orders" });
          this.kong.seedPlugin({ issuer, clientIds: [randomUUID(), clientId], clientSecrets: [`first-${randomUUID()}`, old], instanceName: "oidc-multi" });
          this.kong.seedPlugin({ issuer, clientIds: [clientId], clientSecrets: [`{vault://azure/${set.secretName}}`], instanceName: "oidc-vault-ref" });
          this.kong.seedPlugin({ issuer, clientIds: [randomUUID()], clientSecrets: [`other-${randomUUID()}`], instanceName: "oidc-other-app" });
          break;
        case "apim-named-value":
          this.arm.apim.seedNamedValue(APIM, { name: "sso-client-secret", keyVault: { secretIdentifier: secretUri } });
          this.arm.apim.seedNamedValue(APIM, { name: "sso-plain", value: old, secret: true });
          break;
        case "apim-credential-manager":
          this.arm.apim.seedProvider(APIM, { name: "aad-authcode", grantType: "authorizationCode", clientId, clientSecret: old });
          this.arm.apim.seedConnection(APIM, "aad-authcode", { name: "user-1" });
          this.arm.apim.seedProvider(APIM, { name: "aad-cc", grantType: "clientCredentials", tenantId: this.world.tenantId });
          this.arm.apim.seedConnection(APIM, "aad-cc", { name: "orders-backend", clientId, clientSecret: old });
          break;
        case "appservice-keyvault-reference":
          this.arm.appService.seedSite(SITE, { settings: { [SETTING]: `@Microsoft.KeyVault(SecretUri=${secretUri})`, PLAIN: "x" } });
          break;
      }
    }
  }

  reset(): void {
    this.current = undefined;
    this.arm.reset();
    this.kong.reset();
  }

  /**
   * Ground truth: every consumer of the running set's client and the secret it really uses now — a
   * Kong plugin's `client_secret` slot (a `{vault://azure/<name>}` reference: what Key Vault serves,
   * which Kong fetches itself within its ttl), a named value's value (a Key Vault-backed one after
   * the service's own 4 h refresh), a provider's or connection's stored secret, and what the
   * Function app receives for its reference (after its own 24 h re-fetch).
   */
  consumers(): (Consumer & { kind: ConsumerKind })[] {
    const set = this.current;
    if (!set || set.kinds.length === 0) return [];
    const out: (Consumer & { kind: ConsumerKind })[] = [];
    const add = (kind: ConsumerKind, id: string, name: string, secret: string | undefined): void => void out.push({ kind, id, name, secret });
    for (const kind of set.kinds) {
      switch (kind) {
        case "kong-openid-connect":
          for (const p of this.kong.plugins()) {
            const i = p.config.client_id?.indexOf(set.clientId) ?? -1;
            if (i < 0) continue;
            add(kind, p.id, p.instance_name ?? p.id, this.resolveVaultReference(p.config.client_secret?.[i]));
          }
          break;
        case "apim-named-value":
          for (const name of ["sso-client-secret", "sso-plain"]) {
            const nv = this.arm.apim.namedValueInUse(APIM, name);
            if (nv) add(kind, `${APIM}/namedValues/${name}`, `apim-chaos/${name}`, nv.value);
          }
          break;
        case "apim-credential-manager": {
          const authCode = this.arm.apim.provider(APIM, "aad-authcode");
          if (authCode) add(kind, `${APIM}/authorizationProviders/aad-authcode`, "apim-chaos/aad-authcode", authCode.authCodeSecret);
          const cc = this.arm.apim.provider(APIM, "aad-cc")?.connections.get("orders-backend");
          if (cc) add(kind, `${APIM}/authorizationProviders/aad-cc/authorizations/orders-backend`, "apim-chaos/aad-cc/orders-backend", cc.secret);
          break;
        }
        case "appservice-keyvault-reference":
          add(kind, `${SITE}/${SETTING}`, `chaos-func/${SETTING}`, this.arm.appService.appUses(SITE, SETTING));
          break;
      }
    }
    return out;
  }

  /**
   * Behind the product's back: the first consumer of `kind` is made to use `secret` (a Kong plugin's
   * slot, a named value's value, a connection's or provider's stored secret, the Function app's
   * setting replaced by the literal value). Returns the consumer's id, or undefined when there is none.
   */
  overwrite(kind: ConsumerKind, secret: string): string | undefined {
    const target = this.consumers().find((c) => c.kind === kind);
    if (!target || !this.current) return undefined;
    switch (kind) {
      case "kong-openid-connect": {
        const p = this.kong.plugins().find((x) => x.id === target.id)!;
        const i = p.config.client_id!.indexOf(this.current.clientId);
        this.kong.editPlugin(p.id, { client_secret: p.config.client_secret!.map((s, j) => (j === i ? secret : s)) });
        break;
      }
      case "apim-named-value":
        this.arm.apim.seedNamedValue(APIM, { name: "sso-plain", value: secret, secret: true });
        return `${APIM}/namedValues/sso-plain`;
      case "apim-credential-manager": {
        const p = this.arm.apim.provider(APIM, "aad-authcode");
        if (p) p.authCodeSecret = secret;
        break;
      }
      case "appservice-keyvault-reference":
        this.arm.appService.seedSite(SITE, { settings: { [SETTING]: secret, PLAIN: "x" } });
        break;
    }
    return target.id;
  }

  /** Kong's azure vault (§ Vault references) names the Key Vault secret after `azure/`; it serves the latest enabled version. */
  private resolveVaultReference(value: string | undefined): string | undefined {
    const name = /^\{vault:\/\/azure\/([^/}]+)\}$/.exec(value?.trim() ?? "")?.[1];
    if (name === undefined) return value;
    return this.world.keyVault
      .versions(name)
      .filter((v) => v.enabled && !v.deleted)
      .at(-1)?.value;
  }
}
