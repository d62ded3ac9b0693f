import { systemClock, type Clock } from "../common/clock.js";
import { EmulatorServer, ServedEmulator } from "../common/server.js";
import { sharedCertificateAuthority } from "../common/tls.js";
import { ApimProvider, type KeyVaultReader } from "./apim/index.js";
import { AppServiceProvider } from "./appservice/index.js";
import { ArmCore, type ArmTokenValidator } from "./core.js";

/**
 * A local Azure Resource Manager over HTTPS on 127.0.0.1, with the resource providers the rotator
 * writes to: the API Management subset (apim/) and the App Service subset (appservice/). Each
 * provider is a module registered on the one core (core.ts), which does what every ARM call has
 * in common. Faults (errors, 429, latency, hang, drop, malformed bodies) come from EmulatorServer.
 * Written from ../shared/specs/ and ../shared/LOCAL-EMULATION.md only; README.md lists its guesses.
 */
export interface ArmEmulatorOptions {
  /** The Entra emulator's validateAccessToken; default any non-empty bearer. */
  validateToken?: ArmTokenValidator;
  /** Accepted token audiences (a national cloud's); default the global Resource Manager's. */
  audiences?: readonly string[];
  /** The subscriptions' tenant. */
  tenantId?: string;
  clock?: Clock;
  /** How API Management's identity reads Key Vault (the fixture wires the Key Vault emulator). */
  keyVault?: KeyVaultReader;
  /** Whether Entra accepts a client ID + secret now: connection status (the Entra emulator's ground truth). */
  acceptsSecret?: (clientId: string, secret: string) => boolean;
  verbose?: boolean;
}

export class ArmEmulator extends ServedEmulator {
  readonly server: EmulatorServer;
  readonly caCertPem: string;
  readonly core: ArmCore;
  readonly apim: ApimProvider;
  readonly appService: AppServiceProvider;

  constructor(options: ArmEmulatorOptions = {}) {
    super();
    const clock = options.clock ?? systemClock;
    const ca = sharedCertificateAuthority();
    this.caCertPem = ca.caCertPem;
    this.server = new EmulatorServer({ name: "arm", tls: ca.issue(["localhost", "127.0.0.1"]), verbose: options.verbose });
    this.core = new ArmCore(this.server, {
      clock,
      ...(options.validateToken ? { validateToken: options.validateToken } : {}),
      ...(options.audiences ? { audiences: options.audiences } : {}),
      ...(options.tenantId ? { tenantId: options.tenantId } : {}),
    });
    this.apim = new ApimProvider(this.core, {
      clock,
      ...(options.keyVault ? { keyVault: options.keyVault } : {}),
      ...(options.acceptsSecret ? { acceptsSecret: options.acceptsSecret } : {}),
    });
    this.appService = new AppServiceProvider(this.core, { clock, ...(options.keyVault ? { keyVault: options.keyVault } : {}) });
    this.server.routeReset(() => this.reset());
  }

  /** Every secret any provider stored, for SecretScanner. */
  issuedSecrets(): string[] {
    return [...this.apim.issuedSecrets(), ...this.appService.issuedSecrets()];
  }

  reset(): void {
    this.core.reset();
    this.apim.reset();
    this.appService.reset();
    this.server.faults.clear();
  }
}
