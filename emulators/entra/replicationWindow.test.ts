import { ClientSecretCredential } from "@azure/identity";
import type { Client } from "@microsoft/microsoft-graph-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { closeScanned, SecretScanner } from "../../tests/helpers/secretScan.js";
import { graphSdkClient } from "../common/graphSdk.js";
import { httpsFetch, type HttpsFetch } from "../common/httpsFetch.js";
import { postClientCredentials, startEntraFixture, type EntraFixture } from "./fixture.js";
import type { CreatedPassword } from "./state.js";

/**
 * Fidelity: replication is a window, not a switch.
 *
 * Microsoft Entra, "Designing for eventual consistency for Microsoft Entra"
 * (https://devblogs.microsoft.com/identity/designing-for-eventual-consistency-for-microsoft-entra/):
 * a write is accepted first and replicated asynchronously across directory replicas; during the
 * window a read may not reflect it, and successive requests served by different replicas can
 * disagree. For a new client secret that means the token endpoint answers AADSTS7000215 ("Invalid
 * client secret provided", Microsoft Learn, "Microsoft Entra authentication and authorization error
 * codes", https://learn.microsoft.com/entra/identity-platform/reference-error-codes) for a while,
 * can accept it and refuse it again, and settles; a removed secret can still be accepted briefly.
 * The emulator plays this window on its own clock, deterministically from a seed.
 */
let fx: EntraFixture;
let graph: Client;
let send: HttpsFetch;
const scan = new SecretScanner();

async function tokenStatus(secret: string): Promise<{ status: number; codes: number[] }> {
  const res = await postClientCredentials(fx, send, secret);
  const body = (await res.json()) as { error_codes?: number[] };
  return { status: res.status, codes: body.error_codes ?? [] };
}

/** Token endpoint answer and ground truth at the current emulator time; they must agree. */
async function accepted(secret: string): Promise<boolean> {
  const { status, codes } = await tokenStatus(secret);
  const truth = fx.emulator.isSecretAccepted(fx.tenantId, fx.target.app.appId, secret);
  expect(status === 200).toBe(truth);
  if (status !== 200) expect([status, codes]).toEqual([401, [7000215]]);
  return status === 200;
}

const addPassword = async (): Promise<CreatedPassword> =>
  (await graph.api(`/applications/${fx.target.app.id}/addPassword`).post({ passwordCredential: { displayName: "replicating" } })) as CreatedPassword;

beforeAll(async () => {
  fx = await startEntraFixture();
  send = httpsFetch(fx.emulator.caCertPem);
  graph = graphSdkClient({ baseUrl: fx.url, credential: fx.operatorCredential(), scopes: ["https://graph.microsoft.com/.default"], ca: fx.emulator.caCertPem });
});
afterEach(() => {
  fx.emulator.setReplication({ delayMs: 0, flapMs: 0, removalLagMs: 0, seed: 0, flapPeriodMs: undefined });
});
afterAll(() => closeScanned(fx, scan));

describe("a new secret", () => {
  it("is refused during the delay, then flaps (accepted, refused again, then accepted) and settles on accepted", async () => {
    fx.emulator.setReplication({ delayMs: 10_000, flapMs: 8_000, flapPeriodMs: 2_000, seed: 7 });
    // The emulator clock is wall time plus an offset, so each probe sits mid-slot, clear of the few real
    // milliseconds the requests take.
    const created = await addPassword();
    expect(await accepted(created.secretText)).toBe(false); // t = 0: not replicated
    fx.clock.advance(9_000);
    expect(await accepted(created.secretText)).toBe(false); // t ≈ 9 s
    fx.clock.advance(1_500); // t ≈ 10.5 s: slot 0, the first replica has it
    expect(await accepted(created.secretText)).toBe(true);
    fx.clock.advance(2_000); // t ≈ 12.5 s: slot 1, a replica without it answers
    expect(await accepted(created.secretText)).toBe(false);
    fx.clock.advance(6_000); // t ≈ 18.5 s: settled
    for (let i = 0; i < 5; i++) {
      expect(await accepted(created.secretText)).toBe(true);
      fx.clock.advance(60_000);
    }
  });

  it("flaps through the real identity SDK too: AADSTS7000215 after a success", async () => {
    fx.emulator.setReplication({ delayMs: 0, flapMs: 4_000, seed: 1 });
    const created = await addPassword();
    const fresh = (): ClientSecretCredential => fx.appCredential(fx.target.app.appId, created.secretText);
    await expect(fresh().getToken("https://graph.microsoft.com/.default")).resolves.toBeDefined();
    fx.clock.advance(1_500); // default slot = flapMs / 4 = 1 s: slot 1 refuses
    await expect(fresh().getToken("https://graph.microsoft.com/.default")).rejects.toThrow(/AADSTS7000215/);
    fx.clock.advance(3_000); // past the 4 s window: settled
    await expect(fresh().getToken("https://graph.microsoft.com/.default")).resolves.toBeDefined();
  });

  it("flaps the same way for the same seed and creation order, and differently for another seed", async () => {
    const pattern = async (seed: number): Promise<string> => {
      const f = await startEntraFixture();
      try {
        f.emulator.setReplication({ delayMs: 0, flapMs: 40_000, flapPeriodMs: 1_000, seed });
        const first = f.emulator.seedPassword(f.target.app.id, {
          displayName: "a",
          endDateTime: new Date(f.clock.now().getTime() + 86_400_000).toISOString(),
          replicated: false,
        });
        let out = "";
        f.clock.advance(500); // sample each 1 s slot in its middle
        for (let t = 0; t < 40; t++) {
          out += f.emulator.isSecretAccepted(f.tenantId, f.target.app.appId, first.secretText) ? "1" : "0";
          f.clock.advance(1_000);
        }
        scan.addSecrets(f.emulator.issuedSecrets());
        return out;
      } finally {
        await f.close();
      }
    };
    const a = await pattern(42);
    expect(a.slice(0, 2)).toBe("10");
    expect(await pattern(42)).toBe(a);
    expect(await pattern(43)).not.toBe(a);
  });

  it("setReplicationDelay still sets only the delay and leaves the flap window and removal lag alone", () => {
    fx.emulator.setReplication({ flapMs: 5_000, removalLagMs: 3_000, seed: 9 });
    fx.emulator.setReplicationDelay(20_000);
    expect(fx.emulator.replication()).toEqual({ delayMs: 20_000, flapMs: 5_000, removalLagMs: 3_000, seed: 9 });
    expect(() => fx.emulator.setReplication({ flapMs: -1 })).toThrow(/flapMs must be a number ≥ 0/);
  });
});

describe("a removed secret", () => {
  it("disappears from Graph at once but is still accepted at the token endpoint until the removal lag has passed", async () => {
    fx.emulator.setReplication({ removalLagMs: 30_000 });
    const created = await addPassword();
    expect(await accepted(created.secretText)).toBe(true);
    await graph.api(`/applications/${fx.target.app.id}/removePassword`).post({ keyId: created.keyId });
    expect(fx.emulator.passwordCredentials(fx.target.app.id).map((p) => p.keyId)).not.toContain(created.keyId);
    const listed = (await graph.api(`/applications/${fx.target.app.id}`).select(["passwordCredentials"]).get()) as { passwordCredentials: { keyId: string }[] };
    expect(listed.passwordCredentials.map((p) => p.keyId)).not.toContain(created.keyId);
    expect(await accepted(created.secretText)).toBe(true);
    fx.clock.advance(29_000);
    expect(await accepted(created.secretText)).toBe(true);
    fx.clock.advance(1_500);
    expect(await accepted(created.secretText)).toBe(false);
  });

  it("without a removal lag is refused at once", async () => {
    const created = await addPassword();
    await graph.api(`/applications/${fx.target.app.id}/removePassword`).post({ keyId: created.keyId });
    expect(await accepted(created.secretText)).toBe(false);
  });
});

describe("control route", () => {
  it("PUT /_control/replication sets the window and refuses nonsense", async () => {
    const put = async (body: unknown): Promise<{ status: number; body: unknown }> => {
      const res = await send(`${fx.url}/_control/replication`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      return { status: res.status, body: await res.json() };
    };
    expect(await put({ delayMs: 1_000, flapMs: 2_000, removalLagMs: 3_000, seed: 5 })).toEqual({
      status: 200,
      body: { delayMs: 1_000, flapMs: 2_000, removalLagMs: 3_000, seed: 5 },
    });
    expect(fx.emulator.replication()).toMatchObject({ delayMs: 1_000, flapMs: 2_000, removalLagMs: 3_000, seed: 5 });
    expect((await put({ seed: 1.5 })).status).toBe(400);
  });
});
