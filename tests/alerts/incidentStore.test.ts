import { randomBytes } from "node:crypto";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { IncidentStore } from "../../src/alerts/incidentStore.js";
import type { Incident } from "../../src/alerts/model.js";
import { RotatorError } from "../../src/errors.js";
import { openIncident } from "./incidentFixture.js";

const incident = (set: string, check: string, over: Partial<Incident> = {}): Incident =>
  openIncident({ set, check, severity: "warning", title: "t", hint: "h", evidence: {} }, over);

describe("incident store on Azure Storage (Azurite)", () => {
  let container: ContainerClient;
  let store: IncidentStore;
  beforeAll(() => {
    container = BlobServiceClient.fromConnectionString(inject("storageConnectionString")).getContainerClient(`incidents-${randomBytes(6).toString("hex")}`);
    store = new IncidentStore({ containerClient: container });
  });
  afterAll(async () => {
    await container.deleteIfExists();
  });

  it("keeps one JSON blob per incident under incidents/<set>/<dedupKey>.json", async () => {
    const i = incident("set-a", "token.request");
    await store.put(i);
    const names: string[] = [];
    for await (const b of container.listBlobsFlat()) names.push(b.name);
    expect(names).toContain("incidents/set-a/mcp-sso-rotator.set-a.token.request.json");
    expect((await store.get("set-a", i.dedupKey))?.incident).toEqual(i);
  });

  it("creates only once, and overwrites only the version it read (ETag / If-Match)", async () => {
    const i = incident("set-b", "expiry.horizon");
    const etag = await store.put(i);
    await expect(store.put(i)).rejects.toMatchObject({ code: "STORAGE_CONFLICT", retryable: true });
    const etag2 = await store.put({ ...i, severity: "error" }, { ifMatch: etag });
    expect(etag2).not.toBe(etag);
    const stale = await store.put({ ...i, severity: "critical" }, { ifMatch: etag }).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(RotatorError);
    expect((stale as RotatorError).code).toBe("STORAGE_CONFLICT");
    expect((await store.get("set-b", i.dedupKey))?.incident.severity).toBe("error");
  });

  it("reports an unknown incident as undefined and lists incidents per set or all", async () => {
    expect(await store.get("set-z", "nope")).toBeUndefined();
    await store.put(incident("set-c", "one"));
    await store.put(incident("set-c", "two", { state: "resolved" }));
    expect((await store.list("set-c")).map((i) => i.check).sort()).toEqual(["one", "two"]);
    expect((await store.list()).length).toBeGreaterThanOrEqual(4);
  });
});
