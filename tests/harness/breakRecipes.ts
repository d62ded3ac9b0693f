import { randomUUID } from "node:crypto";
import { DAY_MS } from "../../src/clock.js";
import type { CredentialSet } from "../../src/config/schema.js";
import type { SetClients } from "../../src/runtime/createRuntime.js";
import type { World } from "./world.js";

/**
 * How each row of the setup guide's troubleshooting table (and a few neighbours) is induced in the
 * local emulators, the way it happens to real users. Shared by the probe tests and the demo's
 * `--break <code>`. A recipe may return a changed credential set (a configuration mistake); probe
 * with that set afterwards.
 */
interface BreakTarget {
  world: World;
  set: CredentialSet;
  /** The app registration's object ID. */
  appObjectId: string;
  clients: Pick<SetClients, "vault" | "graph">;
}

export interface BreakRecipe {
  code: number;
  /** What the recipe does, for the demo's narration. */
  description: string;
  apply(t: BreakTarget): Promise<{ set: CredentialSet }>;
}

/** The set's MCP servers on the gateway (ground truth, by client ID). */
function serversOf(t: BreakTarget) {
  return t.world.gateway.servers().filter((s) => s.clientId.toLowerCase() === t.set.clientId.toLowerCase());
}

export const BREAK_RECIPES: Readonly<Record<string, BreakRecipe>> = {
  "50011": {
    code: 50011,
    description: "An administrator edits every MCP server's Additional Parameters so redirectUri ends with a slash — a URI the app registration does not have.",
    async apply(t) {
      for (const s of serversOf(t)) {
        t.world.gateway.editServer(s.id, { additionalParameters: { ...s.additionalParameters, redirectUri: `${t.set.redirectUri}/` } });
      }
      return { set: t.set };
    },
  },
  "700016": {
    code: 700016,
    description: "The Application (client) ID was copied wrongly into the credential set: it names an app that is not registered in the tenant.",
    async apply(t) {
      return { set: { ...t.set, clientId: randomUUID() } };
    },
  },
  "7000215": {
    code: 7000215,
    description: "Someone stored the secret's ID (keyId) in Key Vault instead of its value, an hour ago (the clock moves on past the replication window).",
    async apply(t) {
      const app = await t.clients.graph.getApplication({ appId: t.set.clientId, objectId: t.appObjectId });
      const keyId = app.passwordCredentials[0]?.keyId ?? randomUUID();
      await t.clients.vault.setSecret(t.set.keyVault.secretName, keyId);
      t.world.clock.advance(60 * 60_000);
      return { set: t.set };
    },
  },
  "7000222": {
    code: 7000222,
    description: "Nobody rotated: the clock moves a day past the end date of the app's last secret.",
    async apply(t) {
      const app = await t.clients.graph.getApplication({ appId: t.set.clientId, objectId: t.appObjectId });
      const last = Math.max(...app.passwordCredentials.map((c) => Date.parse(c.endDateTime)));
      t.world.clock.advance(last - t.world.clock.now().getTime() + DAY_MS);
      return { set: t.set };
    },
  },
  "50105": {
    code: 50105,
    description: "'Assignment required?' is switched to Yes on the enterprise application while nobody is assigned.",
    async apply(t) {
      t.world.entra.seedServicePrincipal(t.set.clientId, { appRoleAssignmentRequired: true });
      return { set: t.set };
    },
  },
  "65001": {
    code: 65001,
    description: "The tenant-wide admin consent for openid profile email User.Read is revoked.",
    async apply(t) {
      t.world.entra.seedConsent(t.set.clientId, null);
      return { set: t.set };
    },
  },
  "9001023": {
    code: 9001023,
    description: "Following the guide's multi-tenant advice literally, an administrator puts `common` into every MCP server's Token URL.",
    async apply(t) {
      for (const s of serversOf(t)) {
        t.world.gateway.editServer(s.id, { tokenUrl: `${t.set.authorityHost.replace(/\/+$/, "")}/common/oauth2/v2.0/token` });
      }
      return { set: t.set };
    },
  },
};
