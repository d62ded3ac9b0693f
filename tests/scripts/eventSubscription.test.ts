import { randomBytes } from "node:crypto";
import type { AccessToken } from "@azure/identity";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EmulatorServer } from "../../emulators/common/server.js";
import {
  armClient,
  ensureNearExpirySubscription,
  EVENT_GRID_API_VERSION,
  FUNCTION_NAME,
  NEAR_EXPIRY,
  SUBSCRIPTION_NAME,
  WEB_API_VERSION,
} from "../../scripts/azd/eventSubscription.js";
import { SecretScanner } from "../helpers/secretScan.js";

/**
 * The postdeploy step against a local stand-in for the two ARM resources it touches: the Function
 * App's function (Microsoft.Web) and the system topic's event subscription (Microsoft.EventGrid).
 * Like Event Grid, the fake validates the AzureFunction endpoint: a subscription to a function
 * that does not exist ends Failed. It checks api-version and the bearer token on every call.
 */
const SUB = "00000000-0000-0000-0000-000000000001";
const RG = "rg-rotator-prod";
const APP = "func-rotator-abc";
const TOPIC = "evgt-kv-abc";
const env = { AZURE_SUBSCRIPTION_ID: SUB, AZURE_RESOURCE_GROUP: RG, AZURE_FUNCTION_NAME: APP, KEY_VAULT_EVENTS_TOPIC: TOPIC };
const FUNCTION_ID = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Web/sites/${APP}/functions/${FUNCTION_NAME}`;
const SUB_PATH = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.EventGrid/systemTopics/${TOPIC}/eventSubscriptions/${SUBSCRIPTION_NAME}`;

class FakeArm {
  readonly server = new EmulatorServer({ name: "arm" });
  readonly token = randomBytes(24).toString("base64url");
  /** Becomes true after this many GETs of the function (a host still indexing after the deploy). */
  functionVisibleAfter = 0;
  private functionGets = 0;
  subscription: { properties: Record<string, unknown> } | undefined;
  /** GETs of a Creating subscription before it settles. */
  private pendingPolls = 0;

  constructor() {
    const authorized = (h: Record<string, unknown>, q: URLSearchParams, version: string) =>
      h["authorization"] !== `Bearer ${this.token}`
        ? { status: 401, body: { error: { code: "InvalidAuthenticationToken", message: "The access token is invalid." } } }
        : q.get("api-version") !== version
          ? { status: 400, body: { error: { code: "InvalidApiVersionParameter", message: "api-version" } } }
          : undefined;
    this.server.route("GET", /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Web\/sites\/[^/]+\/functions\/[^/]+$/, (req) => {
      const denied = authorized(req.headers, req.query, WEB_API_VERSION);
      if (denied) return denied;
      return req.path === FUNCTION_ID && this.functionExists()
        ? { status: 200, body: { id: FUNCTION_ID, name: `${APP}/${FUNCTION_NAME}` } }
        : { status: 404, body: { error: { code: "NotFound", message: "Error retrieving function." } } };
    });
    this.server.route("GET", /\/eventSubscriptions\/[^/]+$/, (req) => {
      const denied = authorized(req.headers, req.query, EVENT_GRID_API_VERSION);
      if (denied) return denied;
      if (req.path !== SUB_PATH || !this.subscription) return { status: 404, body: { error: { code: "ResourceNotFound", message: "not found" } } };
      if (this.subscription.properties["provisioningState"] === "Creating" && this.pendingPolls-- <= 0) this.settle();
      return { status: 200, body: this.subscription };
    });
    this.server.route("PUT", /\/eventSubscriptions\/[^/]+$/, (req) => {
      const denied = authorized(req.headers, req.query, EVENT_GRID_API_VERSION);
      if (denied) return denied;
      const created = !this.subscription;
      this.subscription = { properties: { ...req.json<{ properties: Record<string, unknown> }>().properties, provisioningState: "Creating" } };
      this.pendingPolls = 1;
      return { status: created ? 201 : 200, body: this.subscription, headers: { "azure-asyncoperation": `${this.server.url}/operations/1` } };
    });
  }

  private functionExists(): boolean {
    return this.functionGets++ >= this.functionVisibleAfter;
  }

  /** Event Grid's endpoint validation: the destination function must exist. */
  private settle(): void {
    const dest = this.subscription!.properties["destination"] as { properties?: { resourceId?: string } };
    this.subscription!.properties["provisioningState"] =
      dest.properties?.resourceId === FUNCTION_ID && this.functionGets > this.functionVisibleAfter ? "Succeeded" : "Failed";
  }

  puts(): number {
    return this.server.count("PUT", /eventSubscriptions/);
  }
}

let arm: FakeArm;
const credential = () => ({
  getToken: async (scope: string | string[]): Promise<AccessToken> => {
    expect(scope).toBe(`${arm.server.url}/.default`);
    return { token: arm.token, expiresOnTimestamp: Date.now() + 3_600_000 };
  },
});
const run = () =>
  ensureNearExpirySubscription({ arm: armClient({ endpoint: arm.server.url, credential: credential() }), env, sleep: async () => undefined, attempts: 5 });

beforeEach(async () => {
  arm = new FakeArm();
  await arm.server.start();
});
afterEach(() => arm.server.close());

describe("postdeploy: the SecretNearExpiry subscription", () => {
  it("re-provisioning after azd down stopped before deploy because Bicep created the subscription before the function existed: the step runs after the deploy, twice makes one create, and the second run changes nothing", async () => {
    const first = await run();
    expect(first).toMatchObject({ ok: true });
    expect(first.message).toContain("created");
    expect(arm.puts()).toBe(1);
    expect(arm.subscription!.properties).toMatchObject({
      provisioningState: "Succeeded",
      destination: { endpointType: "AzureFunction", properties: { resourceId: FUNCTION_ID, maxEventsPerBatch: 1 } },
      filter: { includedEventTypes: [NEAR_EXPIRY] },
      eventDeliverySchema: "EventGridSchema",
    });
    const second = await run();
    expect(second).toMatchObject({ ok: true });
    expect(second.message).toContain("left as is");
    expect(arm.puts()).toBe(1);
  });

  it("leaves an existing subscription that already delivers SecretNearExpiry to the function alone", async () => {
    arm.subscription = {
      properties: {
        provisioningState: "Succeeded",
        destination: { endpointType: "AzureFunction", properties: { resourceId: FUNCTION_ID.toUpperCase() } },
        filter: { includedEventTypes: [NEAR_EXPIRY] },
      },
    };
    expect(await run()).toMatchObject({ ok: true });
    expect(arm.puts()).toBe(0);
  });

  it("rewrites one that points elsewhere or ended Failed", async () => {
    arm.subscription = {
      properties: {
        provisioningState: "Succeeded",
        destination: { endpointType: "AzureFunction", properties: { resourceId: `${FUNCTION_ID}-old` } },
        filter: { includedEventTypes: [NEAR_EXPIRY] },
      },
    };
    const r = await run();
    expect(r).toMatchObject({ ok: true });
    expect(r.message).toContain("updated");
    expect(arm.puts()).toBe(1);
    arm.subscription.properties["provisioningState"] = "Failed";
    expect(await run()).toMatchObject({ ok: true });
    expect(arm.puts()).toBe(2);
  });

  it("waits while the host indexes the new deploy, then creates", async () => {
    arm.functionVisibleAfter = 3;
    expect(await run()).toMatchObject({ ok: true });
    expect(arm.server.count("GET", /functions\/keyVaultEvents$/)).toBe(4);
    expect(arm.puts()).toBe(1);
  });

  it("stops with the command to run again, creating nothing, when the function never appears", async () => {
    arm.functionVisibleAfter = 99;
    const r = await run();
    expect(r.ok).toBe(false);
    expect(r.message).toContain("npm run azd-hook -- postdeploy");
    expect(arm.puts()).toBe(0);
  });

  it("reports ARM's error code and never the bearer token; says to provision first when the outputs are missing", async () => {
    const wrong = await ensureNearExpirySubscription({
      arm: armClient({
        endpoint: arm.server.url,
        credential: { getToken: async () => ({ token: "not-the-token-at-all", expiresOnTimestamp: Date.now() + 60_000 }) },
      }),
      env,
      sleep: async () => undefined,
      attempts: 2,
    });
    expect(wrong.ok).toBe(false);
    expect(wrong.message).toContain("InvalidAuthenticationToken");
    const missing = await ensureNearExpirySubscription({
      arm: armClient({ endpoint: arm.server.url, credential: credential() }),
      env: { ...env, KEY_VAULT_EVENTS_TOPIC: "" },
    });
    expect(missing).toMatchObject({ ok: false });
    expect(missing.message).toContain("azd provision");
    const scan = new SecretScanner()
      .addSecrets([arm.token, "not-the-token-at-all"])
      .collectAll("hook messages", [wrong.message, missing.message, (await run()).message]);
    expect(scan.leaks()).toEqual([]);
    expect(arm.puts()).toBe(1);
  });
});
