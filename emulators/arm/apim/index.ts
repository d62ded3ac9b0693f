import type { Clock } from "../../common/clock.js";
import type { ArmCore } from "../core.js";
import { registerNamedValueRoutes, type KeyVaultReader } from "./namedValues.js";
import { ApimState, newEtag, type ApimService, type StoredNamedValue } from "./state.js";

export type { KeyVaultReader } from "./namedValues.js";
export type { StoredNamedValue } from "./state.js";

/**
 * The API Management subset of the ARM emulator (../shared/specs/apim-*.md), registered on the
 * one ARM core. Seeding and ground truth are in-process only.
 */
export interface ApimProviderOptions {
  clock: Clock;
  /** How the services' identity reads Key Vault; default: every read fails (no vault wired). */
  keyVault?: KeyVaultReader;
}

export class ApimProvider {
  private readonly state = new ApimState();
  private pageSize = 100;

  constructor(
    core: ArmCore,
    private readonly options: ApimProviderOptions,
  ) {
    registerNamedValueRoutes(core, {
      state: this.state,
      clock: options.clock,
      keyVault: (id) => (this.options.keyVault ?? (() => ({ error: { code: "Forbidden", message: "no Key Vault is wired to this emulator" } })))(id),
      pageSize: () => this.pageSize,
    });
  }

  /** An API Management service by its resource ID. */
  seedService(resourceId: string): ApimService {
    return this.state.seedService(resourceId);
  }

  /** A named value as it stands after its creation completed; a Key Vault-backed one is fetched at once. */
  seedNamedValue(
    serviceId: string,
    input: {
      name: string;
      displayName?: string;
      value?: string;
      secret?: boolean;
      keyVault?: { secretIdentifier: string; identityClientId?: string };
      tags?: string[];
    },
  ): StoredNamedValue {
    const service = this.mustService(serviceId);
    const nv: StoredNamedValue = {
      name: input.name,
      displayName: input.displayName ?? input.name,
      tags: input.tags ?? [],
      secret: input.keyVault ? true : (input.secret ?? false),
      value: input.value,
      ...(input.keyVault ? { keyVault: { secretIdentifier: input.keyVault.secretIdentifier, identityClientId: input.keyVault.identityClientId ?? null } } : {}),
      etag: newEtag(),
    };
    this.state.remember(nv.value);
    if (nv.keyVault) {
      const got = (this.options.keyVault ?? (() => ({ error: { code: "Forbidden", message: "no vault" } })))(nv.keyVault.secretIdentifier);
      const at = this.options.clock.now().toISOString();
      if ("error" in got) nv.keyVault.lastStatus = { code: got.error.code, message: got.error.message, timeStampUtc: at };
      else {
        nv.value = got.value;
        nv.fetchedVersion = got.version;
        this.state.remember(got.value);
        nv.keyVault.lastStatus = { code: "Success", timeStampUtc: at };
      }
    }
    service.namedValues.set(nv.name.toLowerCase(), nv);
    return nv;
  }

  /** The service's identity loses (`on`) or regains its access to Key Vault: refreshes fail with `error`. */
  breakKeyVaultAccess(
    serviceId: string,
    on = true,
    error: { code: string; message: string } = { code: "Forbidden", message: "The user, group or application does not have secrets get permission." },
  ): void {
    const service = this.mustService(serviceId);
    if (on) service.keyVaultBroken = error;
    else delete service.keyVaultBroken;
  }

  setPageSize(n: number): void {
    this.pageSize = n;
  }

  // ---- ground truth (tests only) ----------------------------------------------------------------

  namedValue(serviceId: string, name: string): StoredNamedValue | undefined {
    return this.mustService(serviceId).namedValues.get(name.toLowerCase());
  }

  /** Every value ever stored or fetched, for SecretScanner. */
  issuedSecrets(): string[] {
    return this.state.secrets();
  }

  reset(): void {
    this.state.clear();
    this.pageSize = 100;
  }

  private mustService(id: string): ApimService {
    const s = this.state.service(id);
    if (!s) throw new Error(`no API Management service ${id}`);
    return s;
  }
}
