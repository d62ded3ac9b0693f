import { afterEach, describe, expect, it } from "vitest";
import type { AlertEvent, Incident } from "../../src/alerts/model.js";
import { openIncident } from "./incidentFixture.js";
import { STATUS_URL, receivedPayloads, startWorld, type World } from "./world.js";

const incident = (over: Partial<Incident> = {}): Incident =>
  openIncident(
    {
      set: "set-a",
      check: "token.request",
      severity: "error",
      title: "Token request fails with AADSTS7000222 (secret expired)",
      hint: "Rotate now: POST /api/rotations with mode emergency.",
      evidence: { aadsts: 7000222, expiredOn: "2026-01-01" },
    },
    {
      openedAt: "2026-01-02T00:00:00.000Z",
      updatedAt: "2026-01-02T00:00:00.000Z",
      lastNotifiedAt: "2026-01-02T00:00:00.000Z",
      runId: "run-42",
      links: { status: STATUS_URL, run: "https://rotator.example.test/api/rotations/run-42" },
      ...over,
    },
  );
const ev = (type: AlertEvent["type"], over: Partial<Incident> = {}): AlertEvent => ({ type, incident: incident(over) });

describe("alert channels against their receivers", () => {
  let w: World;
  afterEach(async () => {
    await w?.close();
  });
  const channel = (name: string) => w.channels.find((c) => c.name === name)!;

  it("Teams: posts an Adaptive Card 1.4 with the facts, the hint and Open URL actions to status and run", async () => {
    w = await startWorld({ channels: { teams: "info" } });
    const r = await channel("teams").send(ev("opened"));
    expect(r).toMatchObject({ ok: true, status: 202 });
    const card = w.rx.teams.accepted()[0]!.body.cards[0]!;
    expect(card).toMatchObject({ type: "AdaptiveCard", version: "1.4" });
    expect(card["actions"]).toEqual([
      { type: "Action.OpenUrl", title: "Open status", url: STATUS_URL },
      { type: "Action.OpenUrl", title: "Open run journal", url: "https://rotator.example.test/api/rotations/run-42" },
    ]);
    expect(JSON.stringify(card["body"])).toContain("AADSTS7000222");
    expect(w.rx.teams.rejected()).toEqual([]);
  });

  it("Teams: trims a huge evidence record to fit Teams' message size, and the flow still posts it", async () => {
    w = await startWorld({ channels: { teams: "info" } });
    const evidence = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`target-${i}`, "x".repeat(400)]));
    expect((await channel("teams").send(ev("opened", { evidence }))).ok).toBe(true);
    expect(w.rx.teams.rejected()).toEqual([]);
    expect(w.rx.teams.accepted()).toHaveLength(1);
  });

  it("Teams: a refused signature or a deleted workflow is a failure with an operator hint", async () => {
    w = await startWorld({ channels: { teams: "info" } });
    const url = (await w.secrets.getLatest("alert-teams-url"))!.value!;
    await w.secrets.setSecret("alert-teams-url", url.replace(/sig=[^&]+/, "sig=stale-signature-value"));
    const unauthorized = await channel("teams").send(ev("opened"));
    expect(unauthorized).toMatchObject({ ok: false, status: 401, code: "ALERT_TEAMS_UNAUTHORIZED", retryable: false });
    await w.secrets.setSecret("alert-teams-url", url);
    w.rx.teams.deleteWorkflow(url);
    const gone = await channel("teams").send(ev("opened"));
    expect(gone).toMatchObject({ ok: false, status: 404, code: "ALERT_TEAMS_WORKFLOW_NOT_FOUND" });
    expect(gone.hint).toMatch(/re-create it/);
  });

  it("Slack: maps Slack's error strings to codes and hints (no_service, channel_is_archived, channel_not_found)", async () => {
    w = await startWorld({ channels: { slack: "info" } });
    const url = (await w.secrets.getLatest("alert-slack-url"))!.value!;
    w.rx.slack.archiveChannel("#sso-oncall");
    expect(await channel("slack").send(ev("opened"))).toMatchObject({ ok: false, status: 410, code: "ALERT_SLACK_CHANNEL_IS_ARCHIVED" });
    w.rx.slack.deleteChannel("#sso-oncall");
    expect(await channel("slack").send(ev("opened"))).toMatchObject({ ok: false, status: 404, code: "ALERT_SLACK_CHANNEL_NOT_FOUND" });
    w.rx.slack.revoke(url);
    const revoked = await channel("slack").send(ev("opened"));
    expect(revoked).toMatchObject({ ok: false, status: 404, code: "ALERT_SLACK_NO_SERVICE", reason: "Slack answered 404: no_service", retryable: false });
    expect(revoked.hint).toMatch(/create a new incoming webhook/);
  });

  it("Slack: waits out a 429 Retry-After and delivers; long titles stay within Block Kit limits", async () => {
    w = await startWorld({ channels: { slack: "info" } });
    w.rx.slack.throttle(1, 2);
    const r = await channel("slack").send(ev("opened", { title: "T".repeat(2000), hint: "H".repeat(5000) }));
    expect(r).toMatchObject({ ok: true, status: 200, attempts: 2 });
    expect(w.waits).toContain(2000);
    expect(w.rx.slack.rejected().filter((x) => x.error !== "rate_limited")).toEqual([]);
    expect(w.rx.slack.accepted()).toHaveLength(1);
  });

  it("Slack: escapes <, > and & so incident text cannot mention @channel or forge links", async () => {
    w = await startWorld({ channels: { slack: "info" } });
    await channel("slack").send(ev("opened", { title: "<!channel> <https://evil.test|click> & more", evidence: { note: "<!here> hi" } }));
    const { text, blocks } = w.rx.slack.accepted()[0]!.body;
    // Everything Slack parses for mentions and links (fallback text, mrkdwn) is escaped.
    const parsed = [text, ...blocks!.filter((b) => b["type"] !== "header").map((b) => JSON.stringify(b))].join("\n");
    expect(parsed).not.toMatch(/<!channel>|<https:/);
    expect(text).toContain("&lt;!channel&gt; &lt;https://evil.test|click&gt; &amp; more");
  });

  it("PagerDuty: triggers with dedup_key and severity, resolves by dedup_key, sends rotation events as change events", async () => {
    w = await startWorld({ channels: { pagerduty: "info" } });
    const pd = channel("pagerduty");
    expect(await pd.send(ev("opened", { title: "S".repeat(3000) }))).toMatchObject({ ok: true, status: 202 });
    const trigger = w.rx.pagerduty.accepted()[0]!.body;
    expect(trigger).toMatchObject({ event_action: "trigger", dedup_key: incident().dedupKey, client_url: STATUS_URL });
    expect(trigger.payload).toMatchObject({ severity: "error", source: "mcp-sso-rotator/set-a", component: "token.request", group: "set-a" });
    expect(String(trigger.payload!["summary"]).length).toBeLessThanOrEqual(1024);
    expect(await pd.send(ev("resolved", { state: "resolved" }))).toMatchObject({ ok: true });
    expect(w.rx.pagerduty.alert(incident().dedupKey)?.status).toBe("resolved");
    expect(await pd.send(ev("event", { severity: "info", title: "Rotation run run-42 succeeded" }))).toMatchObject({ ok: true, status: 202 });
    expect(w.rx.pagerduty.accepted().at(-1)?.body.kind).toBe("change");
  });

  it("PagerDuty: a wrong routing key is a non-retryable failure that names the Key Vault secret, never the key", async () => {
    w = await startWorld({ channels: { pagerduty: "info" } });
    const wrong = "0123456789abcdef0123456789abcdef";
    await w.secrets.setSecret("alert-pagerduty-routing-key", wrong);
    const r = await channel("pagerduty").send(ev("opened"));
    expect(r).toMatchObject({ ok: false, status: 400, code: "ALERT_PAGERDUTY_ROUTING_KEY", retryable: false });
    expect(r.hint).toContain("alert-pagerduty-routing-key");
    w.scanner().addSecrets([wrong]).collect("result", r).collectAll("log", w.lines).assertClean();
  });

  it("Opsgenie: creates with GenieKey and priority by severity, updates priority with a note, closes by alias, skips info events", async () => {
    w = await startWorld({ channels: { opsgenie: "info" } });
    const og = channel("opsgenie");
    const alias = incident().dedupKey;
    expect(await og.send(ev("opened", { title: "M".repeat(500) }))).toMatchObject({ ok: true, status: 202 });
    const created = w.rx.opsgenie.accepted()[0]!.body.body;
    expect(created).toMatchObject({ alias, priority: "P2", entity: "set-a", source: "mcp-sso-rotator" });
    expect(String(created["message"]).length).toBeLessThanOrEqual(130);
    expect(await og.send(ev("updated", { severity: "critical" }))).toMatchObject({ ok: true });
    expect(w.rx.opsgenie.alert(alias)).toMatchObject({ priority: "P1", count: 2, notes: [expect.stringContaining("UPDATED (critical)")] });
    expect(await og.send(ev("resolved", { state: "resolved" }))).toMatchObject({ ok: true });
    expect(w.rx.opsgenie.alert(alias)?.status).toBe("closed");
    expect(await og.send(ev("event", { severity: "info" }))).toMatchObject({ ok: true, skipped: true });
    expect(w.rx.opsgenie.rejected()).toEqual([]);
  });

  it("Opsgenie: a disabled integration key is ALERT_OPSGENIE_UNAUTHENTICATED", async () => {
    w = await startWorld({ channels: { opsgenie: "info" } });
    w.rx.opsgenie.disableIntegration((await w.secrets.getLatest("alert-opsgenie-api-key"))!.value!);
    const r = await channel("opsgenie").send(ev("opened"));
    expect(r).toMatchObject({ ok: false, status: 401, code: "ALERT_OPSGENIE_UNAUTHENTICATED", reason: "Opsgenie answered 401: Could not authenticate" });
  });

  it("webhook: signs the exact body; a receiver holding another key refuses it and the hint names the key's secret", async () => {
    w = await startWorld({ channels: { webhook: "info" } });
    expect(await channel("webhook").send(ev("opened"))).toMatchObject({ ok: true, status: 200 });
    const got = w.rx.webhook.accepted()[0]!;
    expect(got.body).toMatchObject({ version: 1, type: "opened", incident: { dedupKey: incident().dedupKey } });
    expect(got.body.incident).not.toHaveProperty("deliveredTo");
    expect(got.headers["x-rotator-signature"]).toMatch(/^sha256=[0-9a-f]{64}$/);
    const other = w.rx.webhook.createEndpoint();
    await w.secrets.setSecret("alert-webhook-url", other.url);
    const r = await channel("webhook").send(ev("opened"));
    expect(r).toMatchObject({ ok: false, status: 401, code: "ALERT_WEBHOOK_SIGNATURE_REFUSED" });
    expect(r.hint).toContain("alert-webhook-signing-key");
  });

  it("a missing Key Vault secret is a clear failure; during a Key Vault outage the last known value still delivers", async () => {
    w = await startWorld({ channels: { slack: "info", teams: "info" } });
    const slack = channel("slack");
    expect(await slack.send(ev("opened"))).toMatchObject({ ok: true });
    w.secrets.unavailable = true;
    expect(await slack.send(ev("updated"))).toMatchObject({ ok: true });
    // Teams never read its URL before the outage: nothing to fall back on.
    expect(await channel("teams").send(ev("opened"))).toMatchObject({ ok: false, code: "ALERT_CHANNEL_SECRET_UNAVAILABLE", retryable: true });
    w.secrets.unavailable = false;
    const teamsUrl = (await w.secrets.getLatest("alert-teams-url"))!;
    await w.secrets.updateProperties("alert-teams-url", teamsUrl.version, { enabled: false });
    const missing = await channel("teams").send(ev("opened"));
    expect(missing).toMatchObject({ ok: false, code: "ALERT_CHANNEL_SECRET_MISSING" });
    expect(missing.hint).toContain('"alert-teams-url"');
  });

  it("a channel URL or key that ends up in an incident is blanked from every payload", async () => {
    w = await startWorld();
    const leaky = ev("opened", { severity: "critical", title: "see evidence", evidence: { note: `hooks: ${w.channelSecrets.join(" ")}` } });
    const outcome = await w.dispatcher.dispatch(leaky);
    expect(outcome.delivered.sort()).toEqual(["opsgenie", "pagerduty", "slack", "teams", "webhook"]);
    w.scanner().collectAll("payload", receivedPayloads(w.rx)).collectAll("log", w.lines).collect("results", outcome.results).assertClean();
  });
});

describe("alert URLs read from Key Vault are validated", () => {
  let w: World;
  afterEach(async () => {
    await w?.close();
  });

  it.each([
    ["teams", "alert-teams-url", "http://hooks.example.com/workflows/abc"],
    ["slack", "alert-slack-url", "https://169.254.169.254/latest/meta-data/iam"],
    ["webhook", "alert-webhook-url", "https://metadata.google.internal/computeMetadata/v1/"],
    ["teams", "alert-teams-url", "https://0xa9fea9fe/x"],
    ["slack", "alert-slack-url", "https://user:pw@hooks.slack.example.com/services/T0/B0/x"],
  ] as const)("alert URLs read from Key Vault are not validated: %s refuses %s = %s without calling it", async (kind, secretName, url) => {
    w = await startWorld({ channels: { [kind]: "info" } });
    await w.secrets.setSecret(secretName, url);
    const r = await w.channels.find((c) => c.kind === kind)!.send(ev("opened"));
    expect(r).toMatchObject({ ok: false, code: "ALERT_CHANNEL_URL_INVALID", attempts: 0, retryable: false });
    expect(r.reason).toContain(secretName);
    expect(r.reason).not.toContain(url);
  });
});

describe("issue 26, defect 1: link injection in Teams alerts", () => {
  let w: World;
  afterEach(async () => {
    await w?.close();
  });
  const channel = (name: string) => w.channels.find((c) => c.name === name)!;

  /** Server names, display names and upstream messages as an attacker would write them. */
  const HOSTILE = [
    "[Re-authenticate the rotator here](https://evil.example/login)",
    "![logo](https://evil.example/pixel.png)",
    "<https://evil.example/login>",
    '<a href="https://evil.example">open</a>',
    "\u001b]8;;https://evil.example\u0007click\u001b]8;;\u0007",
    "mcp-\u202egnp.exe",
    "ok\n[set=sso-a] forged line",
  ];
  const incidentFor = (name: string): Partial<Incident> => ({
    title: `Gateway drift: MCP server ${name} points at another tenant`,
    hint: `Fix the OAuth settings of ${name} on the gateway.`,
    evidence: { [`server ${name}`]: name, upstream: `the gateway answered: ${name}` },
  });
  const CONTROL = /[\p{Cc}\u202a-\u202e\u2066-\u2069]/u;
  /** Multi-line fields (a description, a hint) may keep line breaks; nothing else. */
  const CONTROL_BUT_NEWLINE = /(?!\n)[\p{Cc}\u202a-\u202e\u2066-\u2069]/u;
  /** Every string in a payload, keys included. */
  const strings = (v: unknown): string[] =>
    typeof v === "string"
      ? [v]
      : Array.isArray(v)
        ? v.flatMap(strings)
        : v !== null && typeof v === "object"
          ? Object.entries(v).flatMap(([k, x]) => [k, ...strings(x)])
          : [];

  /** Markdown link or image syntax whose brackets are not backslash-escaped (Teams renders it as a link). */
  const UNESCAPED_LINK = /(?<!\\)\[[^\]]*(?<!\\)\]\(/;
  const UNESCAPED_AUTOLINK = /(?<!\\)<[a-z]+:/i;
  const UNESCAPED_HTML = /(?<!\\)<a\s/i;

  it("Teams: every outside value is escaped for Teams Markdown — no link, image, autolink, HTML or control character survives", async () => {
    w = await startWorld({ channels: { teams: "info" } });
    for (const name of HOSTILE) expect((await channel("teams").send(ev("opened", incidentFor(name)))).ok).toBe(true);
    const cards = w.rx.teams.accepted().map((r) => r.body.cards[0]!);
    expect(cards).toHaveLength(HOSTILE.length);
    for (const card of cards) {
      const texts: string[] = [];
      for (const el of card["body"] as { type: string; text?: string; facts?: { title: string; value: string }[] }[]) {
        if (el.text) texts.push(el.text);
        for (const f of el.facts ?? []) texts.push(f.title, f.value);
      }
      for (const t of texts) {
        expect(t).not.toMatch(UNESCAPED_LINK);
        expect(t).not.toMatch(CONTROL_BUT_NEWLINE);
        expect(t).not.toMatch(UNESCAPED_AUTOLINK);
        expect(t).not.toMatch(UNESCAPED_HTML);
      }
      // Our own markup still renders.
      expect(texts.some((t) => t.startsWith("**What to do:** "))).toBe(true);
    }
    // Shown as written: the escaped title still names the whole server.
    expect((cards[0]!["body"] as { text: string }[])[0]!.text).toContain("\\[Re-authenticate the rotator here\\]\\(https://evil.example/login\\)");
  });

  it("Slack, Opsgenie and PagerDuty: markup escaped for Slack mrkdwn, control and bidi characters made visible in every channel", async () => {
    w = await startWorld({ channels: { slack: "info", opsgenie: "info", pagerduty: "info" } });
    for (const name of HOSTILE) {
      for (const c of ["slack", "opsgenie", "pagerduty"])
        expect((await channel(c).send(ev("opened", { ...incidentFor(name), dedupKey: `set-a/drift-${HOSTILE.indexOf(name)}` }))).ok).toBe(true);
    }
    const slack = w.rx.slack.accepted().map((r) => r.body);
    const opsgenie = w.rx.opsgenie.accepted().map((r) => r.body.body);
    const pagerduty = w.rx.pagerduty.accepted().map((r) => r.body);
    expect([slack.length, opsgenie.length, pagerduty.length]).toEqual([HOSTILE.length, HOSTILE.length, HOSTILE.length]);
    for (const m of slack) {
      const mrkdwn = [m.text, ...m.blocks!.filter((b) => b["type"] !== "header").map((b) => JSON.stringify(b))].join("\n");
      expect(mrkdwn).not.toMatch(/<https?:|<a\s/);
      for (const t of strings(m)) expect(t).not.toMatch(CONTROL_BUT_NEWLINE);
    }
    for (const o of opsgenie) {
      expect(String(o["message"])).not.toMatch(/[\n\r]/);
      for (const t of strings(o)) expect(t).not.toMatch(CONTROL_BUT_NEWLINE);
    }
    for (const p of pagerduty) {
      const summary = String(p.payload!["summary"]);
      expect(summary).not.toMatch(/[\n\r]/);
      expect(summary).not.toMatch(CONTROL);
      for (const t of strings(p)) expect(t).not.toMatch(CONTROL_BUT_NEWLINE);
    }
    // The newline that would forge a line in a one-line field shows as an escape instead.
    expect(pagerduty.some((p) => String(p.payload!["summary"]).includes("ok\\u000a[set=sso-a] forged line"))).toBe(true);
  });
});
