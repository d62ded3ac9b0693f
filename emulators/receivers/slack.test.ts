import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SlackReceiver } from "./slack.js";

/** Pins the Slack incoming-webhook contract the receiver stands in for. */
describe("Slack incoming-webhook receiver", () => {
  const slack = new SlackReceiver();
  beforeAll(async () => {
    await slack.start();
  });
  afterAll(() => slack.close());

  const post = (url: string, body: string, contentType = "application/json"): Promise<Response> =>
    fetch(url, { method: "POST", headers: { "Content-Type": contentType }, body });

  it("answers 200 with the plain-text body ok and records the message", async () => {
    const url = slack.createWebhook({ channel: "#ops" });
    const res = await post(url, JSON.stringify({ text: "hello", blocks: [{ type: "section", text: { type: "mrkdwn", text: "*hi*" } }] }));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("ok");
    expect(slack.accepted().at(-1)?.body).toMatchObject({ channel: "#ops", text: "hello" });
  });

  it("accepts the legacy form-encoded payload= field", async () => {
    const url = slack.createWebhook();
    const res = await post(url, `payload=${encodeURIComponent(JSON.stringify({ text: "form" }))}`, "application/x-www-form-urlencoded");
    expect([res.status, await res.text()]).toEqual([200, "ok"]);
  });

  it("refuses bodies with Slack's error strings and status codes", async () => {
    const url = slack.createWebhook();
    const cases: [string, number, string][] = [
      ["{not json", 400, "invalid_payload"],
      [JSON.stringify({ username: "bot" }), 400, "no_text"],
      [JSON.stringify({ text: "x", blocks: "nope" }), 400, "invalid_blocks_format"],
      [JSON.stringify({ text: "x", blocks: [{ type: "header", text: { type: "plain_text", text: "h".repeat(151) } }] }), 400, "invalid_blocks"],
      [
        JSON.stringify({ text: "x", blocks: [{ type: "section", fields: Array.from({ length: 11 }, () => ({ type: "mrkdwn", text: "f" })) }] }),
        400,
        "invalid_blocks",
      ],
      [JSON.stringify({ text: "x", blocks: [{ type: "section", text: { type: "mrkdwn", text: "s".repeat(3001) } }] }), 400, "invalid_blocks"],
      [
        JSON.stringify({
          text: "x",
          blocks: [{ type: "actions", elements: [{ type: "button", text: { type: "plain_text", text: "b".repeat(76) }, url: "https://x.test" }] }],
        }),
        400,
        "invalid_blocks",
      ],
      [JSON.stringify({ text: "x", blocks: [{ type: "no_such_block" }] }), 400, "invalid_blocks"],
    ];
    for (const [body, status, error] of cases) {
      const res = await post(url, body);
      expect([res.status, await res.text()], body.slice(0, 60)).toEqual([status, error]);
    }
  });

  it("answers no_service for a revoked or unknown webhook, invalid_token for a wrong token, no_team for an unknown workspace", async () => {
    const url = slack.createWebhook();
    const wrongToken = url.replace(/[^/]+$/, "x".repeat(24));
    const unknownTeam = url.replace(/\/services\/T[^/]+/, "/services/TNOPE00000");
    expect([(await post(wrongToken, '{"text":"x"}')).status]).toEqual([403]);
    expect(await (await post(wrongToken, '{"text":"x"}')).text()).toBe("invalid_token");
    expect(await (await post(unknownTeam, '{"text":"x"}')).text()).toBe("no_team");
    slack.revoke(url);
    const res = await post(url, '{"text":"x"}');
    expect([res.status, await res.text()]).toEqual([404, "no_service"]);
  });

  it("answers channel_not_found (404), channel_is_archived (410) and action_prohibited (403)", async () => {
    const a = slack.createWebhook({ channel: "#gone" });
    const b = slack.createWebhook({ channel: "#old" });
    const c = slack.createWebhook({ channel: "#locked" });
    slack.deleteChannel("#gone");
    slack.archiveChannel("#old");
    slack.prohibit(c);
    for (const [url, status, error] of [
      [a, 404, "channel_not_found"],
      [b, 410, "channel_is_archived"],
      [c, 403, "action_prohibited"],
    ] as const) {
      const res = await post(url, '{"text":"x"}');
      expect([res.status, await res.text()]).toEqual([status, error]);
    }
    expect(slack.rejected().map((r) => r.error)).toEqual(expect.arrayContaining(["channel_not_found", "channel_is_archived", "action_prohibited"]));
  });

  it("throttles with 429, Retry-After and rate_limited", async () => {
    const url = slack.createWebhook();
    slack.throttle(1, 2);
    const res = await post(url, '{"text":"x"}');
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("2");
    expect(await res.text()).toContain("rate_limited");
    expect((await post(url, '{"text":"x"}')).status).toBe(200);
  });
});
