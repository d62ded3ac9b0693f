import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADAPTIVE_CARD, TeamsReceiver } from "./teams.js";

const card = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: "message",
  attachments: [
    {
      contentType: ADAPTIVE_CARD,
      content: {
        type: "AdaptiveCard",
        version: "1.4",
        body: [{ type: "TextBlock", text: "hi" }],
        actions: [{ type: "Action.OpenUrl", title: "Open", url: "https://x.test/" }],
        ...extra,
      },
    },
  ],
});

/** Pins the Teams Workflows webhook trigger the receiver stands in for. */
describe("Teams Workflows webhook receiver", () => {
  const teams = new TeamsReceiver();
  beforeAll(async () => {
    await teams.start();
  });
  afterAll(() => teams.close());

  const post = (url: string, body: unknown): Promise<Response> =>
    fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });

  it("answers 202 with an empty body for an Adaptive Card message and records the card", async () => {
    const url = teams.createWorkflow();
    const res = await post(url, card());
    expect(res.status).toBe(202);
    expect(await res.text()).toBe("");
    expect(teams.accepted().at(-1)?.body.cards[0]).toMatchObject({ type: "AdaptiveCard", version: "1.4" });
  });

  it("refuses a missing or wrong signature with 401 and the Logic Apps error codes", async () => {
    const url = teams.createWorkflow();
    const noSig = url.replace(/&sig=[^&]+/, "");
    const badSig = url.replace(/sig=[^&]+/, "sig=forged");
    const a = await post(noSig, card());
    const b = await post(badSig, card());
    expect([a.status, ((await a.json()) as { error: { code: string } }).error.code]).toEqual([401, "DirectApiAuthorizationRequired"]);
    expect([b.status, ((await b.json()) as { error: { code: string } }).error.code]).toEqual([401, "DirectApiInvalidAuthorizationSignature"]);
  });

  it("answers 404 for a deleted workflow and 409 for a disabled one", async () => {
    const gone = teams.createWorkflow();
    const off = teams.createWorkflow();
    teams.deleteWorkflow(gone);
    teams.disableWorkflow(off);
    expect((await post(gone, card())).status).toBe(404);
    expect((await post(off, card())).status).toBe(409);
  });

  it("answers 400 InvalidRequestContent for a body that is not JSON", async () => {
    const res = await post(teams.createWorkflow(), "{oops");
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("InvalidRequestContent");
  });

  it("accepts a bad card with 202 but records it as a failed flow run, never as a posted card", async () => {
    const url = teams.createWorkflow();
    const before = teams.accepted().length;
    const bad = [
      { type: "message", attachments: [] },
      { type: "message", attachments: [{ contentType: "application/vnd.microsoft.teams.card.o365connector", content: {} }] },
      card({ version: "9.9" }),
      card({ body: [{ type: "TextBlock" }] }),
      card({ actions: [{ type: "Action.OpenUrl", title: "x", url: "not a url" }] }),
      card({ body: [{ type: "TextBlock", text: "x".repeat(30_000) }] }),
    ];
    for (const b of bad) expect((await post(url, b)).status).toBe(202);
    expect(teams.accepted().length).toBe(before);
    expect(teams.rejected().filter((r) => r.error.startsWith("flow run failed")).length).toBe(bad.length);
  });
});
