import { describe, expect, it } from "vitest";
import { InvocationContext, output } from "@azure/functions";
import { credentialSetSchema, type CredentialSet } from "../../src/config/schema.js";
import { makeKeyVaultEventsHandler, parseKeyVaultEvent, setForEvent, SECRET_NEAR_EXPIRY } from "../../src/events/keyVaultEvents.js";
import { makeRotationTimerHandler, makeRotationWorkerHandler } from "../../src/handlers/rotationWorker.js";
import type { RotationMessage } from "../../src/handlers/rotationMessage.js";
import { Redactor } from "../../src/redact.js";
import { Scenario, useWorld } from "../rotation/harness.js";

/**
 * Payloads as Microsoft documents them for Key Vault as an Event Grid source:
 * https://learn.microsoft.com/azure/event-grid/event-schema-key-vault (Event Grid event schema and
 * CloudEvents 1.0 schema; data properties Id, VaultName, ObjectType, ObjectName, Version, NBF, EXP).
 */
/** The `data` both schemas carry for a secret event. */
function secretEventData(vault: string, secret: string, version: string, vaultUrl: string) {
  return {
    Id: `${vaultUrl}/secrets/${secret}/${version}`,
    VaultName: vault,
    ObjectType: "Secret",
    ObjectName: secret,
    Version: version,
    NBF: 1559081980,
    EXP: 1795000000,
  };
}

function eventGridEvent(vault: string, secret: string, version = "ee059b2bb5bc48398a53b168c6cdcb10", vaultUrl = `https://${vault}.vault.azure.net`) {
  return {
    id: "00eccf70-95a7-4e7c-8299-2eb17ee9ad64",
    topic: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-prod/providers/Microsoft.KeyVault/vaults/${vault}`,
    subject: secret,
    eventType: "Microsoft.KeyVault.SecretNearExpiry",
    eventTime: "2026-11-01T01:08:33.1036736Z",
    data: secretEventData(vault, secret, version, vaultUrl),
    dataVersion: "1",
    metadataVersion: "1",
  };
}

function cloudEvent(vault: string, secret: string, version = "ee059b2bb5bc48398a53b168c6cdcb10") {
  return {
    id: "00eccf70-95a7-4e7c-8299-2eb17ee9ad64",
    source: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-prod/providers/Microsoft.KeyVault/vaults/${vault}`,
    specversion: "1.0",
    type: "Microsoft.KeyVault.SecretNearExpiry",
    subject: secret,
    time: "2026-11-01T01:08:33.1036736Z",
    data: secretEventData(vault, secret, version, `https://${vault}.vault.azure.net`),
  };
}

const queue = output.storageQueue({ queueName: "%ROTATION_QUEUE_NAME%", connection: "AzureWebJobsStorage" });

function sets(): CredentialSet[] {
  const base = {
    tenantId: "3f9a6c1e-5b2d-4e8f-9a7c-1d2e3f4a5b6c",
    redirectUri: "https://auth.aigateway.cequence.ai/v1/outbound/oauth/callback",
    gateway: { kind: "manual", targets: [] },
  };
  return [
    credentialSetSchema.parse({
      ...base,
      name: "sso-a",
      clientId: "7c2e9b4a-1f3d-4a6e-8b5c-2d4f6a8b0c1e",
      keyVault: { url: "https://kv-rotator-prod.vault.azure.net", secretName: "sso-a-client-secret" },
    }),
    credentialSetSchema.parse({
      ...base,
      name: "sso-b",
      clientId: "8c2e9b4a-1f3d-4a6e-8b5c-2d4f6a8b0c1e",
      keyVault: { url: "https://kv-other.vault.azure.net", secretName: "sso-a-client-secret" },
    }),
  ];
}

function invoke(event: unknown, runtimeSets: CredentialSet[] = sets(), redactor = new Redactor()) {
  const lines: string[] = [];
  const context = new InvocationContext({ functionName: "keyVaultEvents", logHandler: (level, ...args) => lines.push(`${level} ${args.join(" ")}`) });
  const handler = makeKeyVaultEventsHandler(() => Promise.resolve({ sets: runtimeSets, redactor }), queue);
  return handler(event, context).then((result) => ({ result, lines, queued: context.extraOutputs.get(queue) as RotationMessage[] | undefined }));
}

describe("Key Vault SecretNearExpiry through Event Grid", () => {
  it("maps an Event Grid schema event to the set whose secret fired and queues a scheduled rotation", async () => {
    const r = await invoke(eventGridEvent("kv-rotator-prod", "sso-a-client-secret"));
    expect(r.queued).toEqual([{ set: "sso-a", mode: "scheduled", trigger: "queue", key: "event-00eccf70-95a7-4e7c-8299-2eb17ee9ad64" }]);
    expect(r.lines.join("\n")).toContain("[set=sso-a]");
  });

  it("Key Vault event lines bypassed the runtime's redactor: a value the runtime learned is masked in them", async () => {
    // The runtime's redactor learns every secret value it reads or creates; a handler logging through
    // a fresh one would print such a value. Here the learned value is the event's version.
    const version = "ee059b2bb5bc48398a53b168c6cdcb10";
    const redactor = new Redactor();
    redactor.add(version);
    const r = await invoke(eventGridEvent("kv-rotator-prod", "sso-a-client-secret", version), sets(), redactor);
    expect(r.lines.join("\n")).toContain("queued a scheduled rotation check");
    expect(r.lines.join("\n")).not.toContain(version);
  });

  it("maps a CloudEvents 1.0 event the same way, and tells same-named secrets in two vaults apart", async () => {
    expect((await invoke(cloudEvent("kv-other", "SSO-A-CLIENT-SECRET"))).queued).toEqual([
      { set: "sso-b", mode: "scheduled", trigger: "queue", key: "event-00eccf70-95a7-4e7c-8299-2eb17ee9ad64" },
    ]);
    const parsed = parseKeyVaultEvent(JSON.stringify(cloudEvent("kv-other", "x")));
    expect(parsed).toMatchObject({
      kind: "nearExpiry",
      event: { schema: "CloudEvents", vaultName: "kv-other", objectName: "x", expiresOn: new Date(1795000000 * 1000) },
    });
  });

  it("reads the data fields in either case (the page shows PascalCase, the SDK models camelCase)", () => {
    const e = eventGridEvent("kv-rotator-prod", "sso-a-client-secret");
    const camel = {
      ...e,
      data: {
        id: e.data.Id,
        vaultName: e.data.VaultName,
        objectType: "Secret",
        objectName: e.data.ObjectName,
        version: e.data.Version,
        nbf: "1559081980",
        exp: "1795000000",
      },
    };
    const parsed = parseKeyVaultEvent(camel);
    expect(parsed.kind === "nearExpiry" && setForEvent(sets(), parsed.event)?.name).toBe("sso-a");
    expect(parsed).toMatchObject({ event: { expiresOn: new Date(1795000000 * 1000), version: e.data.Version } });
  });

  it("logs and ignores secrets of no set: another secret, a -pending companion, another vault, other event types", async () => {
    for (const event of [
      eventGridEvent("kv-rotator-prod", "gateway-api-token"),
      eventGridEvent("kv-rotator-prod", "sso-a-client-secret-pending"),
      eventGridEvent("kv-elsewhere", "sso-a-client-secret"),
    ]) {
      const r = await invoke(event);
      expect(r.queued).toBeUndefined();
      expect(r.lines.join("\n")).toMatch(/^warning .*matches no credential set; ignored/m);
    }
    const other = await invoke({ ...eventGridEvent("kv-rotator-prod", "sso-a-client-secret"), eventType: "Microsoft.KeyVault.SecretNewVersionCreated" });
    expect(other.queued).toBeUndefined();
    expect(other.lines.join("\n")).toContain(`is not ${SECRET_NEAR_EXPIRY}`);
    expect((await invoke("not json")).queued).toBeUndefined();
  });
});

describe("with the emulators: promote sets exp, and the event is idempotent with the timer", () => {
  const world = useWorld();

  it("promote writes the credential's end date as the version's exp, which SecretNearExpiry fires 30 days before", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 2, otherTargets: 0 });
    const res = await s.runToEnd("scheduled");
    expect(res.status).toBe("succeeded");
    const current = world.keyVault
      .versions(s.set.keyVault.secretName)
      .filter((v) => v.enabled)
      .at(-1)!;
    expect(current.tags["keyId"]).toBe(res.journal.newCredential!.keyId);
    // Ground truth from the emulator: exp (unix seconds) = the credential's endDateTime.
    expect(current.expiresOn?.getTime()).toBe(Math.floor(Date.parse(res.journal.newCredential!.endDateTime) / 1000) * 1000);
  });

  it("the event's message and the timer's message for the same set create one credential, not two", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 2, otherTargets: 0 });
    const getRuntime = () => Promise.resolve(s.runtime);
    const lines: string[] = [];
    const ctx = (name: string) =>
      new InvocationContext({ functionName: name, triggerMetadata: { dequeueCount: 1 }, logHandler: (l, ...a) => lines.push(`${l} ${a.join(" ")}`) });

    const eventCtx = ctx("keyVaultEvents");
    const event = eventGridEvent("kv", s.set.keyVault.secretName, "0123456789abcdef0123456789abcdef", world.keyVault.url);
    await makeKeyVaultEventsHandler(getRuntime, queue)(event, eventCtx);
    const fromEvent = eventCtx.extraOutputs.get(queue) as RotationMessage[];
    const timerCtx = ctx("rotationTimer");
    await makeRotationTimerHandler(getRuntime, queue)(
      { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: "", next: "", lastUpdated: "" } },
      timerCtx,
    );
    const fromTimer = timerCtx.extraOutputs.get(queue) as RotationMessage[];
    expect(fromEvent).toEqual([{ set: s.set.name, mode: "scheduled", trigger: "queue", key: expect.stringMatching(/^event-/) as string }]);
    expect(fromTimer.map((m) => m.set)).toEqual([s.set.name]);

    const worker = makeRotationWorkerHandler(getRuntime);
    const before = s.managedCredentials().length;
    // Both messages delivered, then the worker keeps going until the run is done (as queue retries would).
    await Promise.all([worker(JSON.stringify(fromEvent[0]), ctx("rotationWorker")), worker(JSON.stringify(fromTimer[0]), ctx("rotationWorker"))]);
    const finished = await s.runToEnd("scheduled");
    expect(finished.status).toMatch(/succeeded|noop/);
    const state = await s.runtime.journals.readState(s.set.name);
    expect(state.activeRunId).toBeUndefined();
    // One rotation: exactly one new managed credential, and all runs but one were no-ops.
    expect(s.managedCredentials().length - before).toBe(1);
    const runs = await Promise.all((await s.runtime.journals.listRuns(s.set.name)).map((id) => s.runtime.journals.readRun(s.set.name, id)));
    expect(runs.filter((r) => r?.newCredential).length).toBe(1);
    const scan = s.scanner().collectAll("function log", lines);
    expect(scan.leaks()).toEqual([]);
  });
});

describe("issue 26, defect 4: Event Grid routing trusts either field", () => {
  const V = "ee059b2bb5bc48398a53b168c6cdcb10";
  const S = "sso-a-client-secret";
  const withData = (data: Record<string, unknown>, over: Record<string, unknown> = {}) => {
    const e = eventGridEvent("kv-rotator-prod", S, V);
    return { ...e, ...over, data: { ...e.data, ...data } };
  };
  /** Forged or self-contradicting events, each of which must queue nothing. */
  const FORGED: [string, unknown][] = [
    ["an Id naming another vault", withData({ Id: `https://kv-other.vault.azure.net/secrets/${S}/${V}` })],
    ["an Id naming another secret", withData({ Id: `https://kv-rotator-prod.vault.azure.net/secrets/gateway-api-token/${V}` })],
    ["an Id containing /../", withData({ Id: `https://kv-rotator-prod.vault.azure.net/secrets/other/../${S}/${V}` })],
    ["an Id containing %2e%2e", withData({ Id: `https://kv-rotator-prod.vault.azure.net/secrets/other/%2e%2e/${S}/${V}` })],
    ["a Government-cloud vault sharing the first label", eventGridEvent("kv-rotator-prod", S, V, "https://kv-rotator-prod.vault.usgovcloudapi.net")],
    ["a China-cloud vault sharing the first label", eventGridEvent("kv-rotator-prod", S, V, "https://kv-rotator-prod.vault.azure.cn")],
    ["a lookalike host", eventGridEvent("kv-rotator-prod", S, V, "https://kv-rotator-prod.vault.azure.net.evil.example")],
    ["no Id at all", withData({ Id: undefined })],
    ["a VaultName naming another vault than the Id", withData({ VaultName: "kv-other" })],
    ["a topic naming another vault", withData({}, { topic: "/subscriptions/0/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-other" })],
    ["a Version other than the Id's", withData({ Version: "0123456789abcdef0123456789abcdef" })],
    ["an Id with a query", withData({ Id: `https://kv-rotator-prod.vault.azure.net/secrets/${S}/${V}?x=1` })],
    ["an Id over plain http", withData({ Id: `http://kv-rotator-prod.vault.azure.net/secrets/${S}/${V}` })],
    ["an Id with user info", withData({ Id: `https://x@kv-rotator-prod.vault.azure.net/secrets/${S}/${V}` })],
  ];

  it.each(FORGED)("ignores and logs %s", async (_what, event) => {
    const r = await invoke(event);
    expect(r.queued).toBeUndefined();
    expect(r.lines.join("\n")).toMatch(/^warning .*(ignored|disagree)/m);
  });

  it("still routes consistent events, Event Grid and CloudEvents, each to its own vault's set", async () => {
    expect((await invoke(eventGridEvent("kv-rotator-prod", S, V))).queued?.map((m) => m.set)).toEqual(["sso-a"]);
    expect((await invoke(cloudEvent("kv-other", S.toUpperCase(), V))).queued?.map((m) => m.set)).toEqual(["sso-b"]);
    expect((await invoke(eventGridEvent("kv-rotator-prod", S, V, "https://KV-ROTATOR-PROD.vault.azure.net"))).queued?.map((m) => m.set)).toEqual(["sso-a"]);
  });
});

describe("issue 26, defect 9: log lines are unbounded, and can be forged", () => {
  const CONTROL = /\p{Cc}/u;
  const HUGE = "A".repeat(1024 * 1024);
  const cases: [string, unknown][] = [
    ["a 1 MB secret name", withFields({ ObjectName: HUGE })],
    ["a 1 MB vault name", withFields({ VaultName: HUGE })],
    ["a 1 MB Id", withFields({ Id: `https://kv-rotator-prod.vault.azure.net/secrets/${HUGE}` })],
    ["a 1 MB event type", { ...eventGridEvent("kv-rotator-prod", "sso-a-client-secret"), eventType: HUGE }],
    ["an event type forging a line", { ...eventGridEvent("kv-rotator-prod", "sso-a-client-secret"), eventType: "x\n[set=sso-a] forged\u001b[2J" }],
    ["a secret name forging a line", withFields({ ObjectName: "gateway-api-token\n[set=sso-a] queued a scheduled rotation check" })],
    ["a 1 MB event id", { ...eventGridEvent("kv-elsewhere", "sso-a-client-secret"), id: HUGE }],
  ];
  function withFields(data: Record<string, unknown>) {
    const e = eventGridEvent("kv-rotator-prod", "sso-a-client-secret");
    return { ...e, data: { ...e.data, ...data } };
  }

  it.each(cases)("%s: every line is one line of at most 4 KB (plus its note), without control characters", async (_what, event) => {
    const r = await invoke(event);
    expect(r.lines.length).toBeGreaterThan(0);
    for (const line of r.lines) {
      expect(line.length).toBeLessThanOrEqual(4100);
      expect(line.slice(line.indexOf(" ") + 1)).not.toMatch(CONTROL);
    }
    expect(r.lines.some((l) => /^\w+ \[set=sso-a\] forged/.test(l) || /^\[set=sso-a\] queued/.test(l))).toBe(false);
  });
});
