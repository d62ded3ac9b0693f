import { describe, expect, it, vi } from "vitest";
import { app } from "@azure/functions";
import { renderDashboard } from "../../src/dashboard/render.js";
import type { SetStatus, StatusSnapshot } from "../../src/dashboard/statusData.js";

const HOSTILE = `<script>alert("x")</script><img src=x onerror=alert(1)>'"&`;

function snapshot(): StatusSnapshot {
  const now = "2026-12-01T03:00:00.000Z";
  const set: SetStatus = {
    set: "evil-set",
    clientId: "7c2e9b4a-1f3d-4a6e-8b5c-2d4f6a8b0c1e",
    gatewayKind: "cequence",
    state: { set: "evil-set", failureStreak: 1 },
    current: { keyId: "k-1", expiresOn: "2027-01-01T00:00:00.000Z", daysLeft: 31 },
    lastRun: {
      runId: "20261201T030000Z-aaaaaaaa",
      set: "evil-set",
      mode: "force",
      trigger: "cli",
      status: "failed",
      createdAt: now,
      updatedAt: now,
      passes: 1,
      displayName: "x",
      steps: [{ name: "propagate", status: "failed", startedAt: now, endedAt: now, durationMs: 1200, detail: HOSTILE }],
      targets: [
        { id: "t1", name: HOSTILE, updated: false, verified: false, attempts: 4, error: { code: "GATEWAY_HTTP_500", message: HOSTILE, hint: "retry" } },
      ],
      error: { code: "STEP_FAILED", message: HOSTILE, hint: HOSTILE },
    },
    recentRuns: [],
    targets: { verified: 0, total: 1, stale: [{ name: HOSTILE, code: "GATEWAY_HTTP_500", message: HOSTILE }] },
    probe: {
      set: "evil-set",
      startedAt: now,
      durationMs: 10,
      ok: false,
      checks: [
        { id: "token", title: "t", status: "fail", severity: "critical", summary: HOSTILE, hint: HOSTILE, aadsts: 7000215, evidence: {}, durationMs: 3 },
      ],
    },
    incidents: [
      {
        dedupKey: "mcp-sso-rotator.evil-set.token",
        set: "evil-set",
        check: "token",
        severity: "critical",
        title: HOSTILE,
        hint: HOSTILE,
        evidence: {},
        state: "open",
        openedAt: now,
        updatedAt: now,
        lastNotifiedAt: now,
        healthyStreak: 0,
        links: {},
        deliveredTo: [],
        pendingChannels: [],
      },
    ],
    alertDelivery: [],
    timeline: {
      credentials: [
        {
          keyId: "k-1",
          displayName: HOSTILE,
          hint: "<b>",
          startDateTime: "2026-06-01T00:00:00.000Z",
          endDateTime: "2027-01-01T00:00:00.000Z",
          role: "unmanaged",
          daysLeft: 31,
        },
      ],
      renewDueAt: "2026-12-02T00:00:00.000Z",
    },
  };
  set.recentRuns = [set.lastRun!];
  return { at: now, sets: [set], serviceIncidents: [] };
}

describe("dashboard rendering", () => {
  it("escapes every text that comes from configuration or upstream, in HTML and in the SVG", () => {
    const html = renderDashboard(snapshot());
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    // No event-handler attribute on any real tag (quoted attribute values are text, "-free once escaped).
    expect(html.replace(/"[^"]*"/g, '""')).not.toMatch(/<[^>]*\son\w+=/i);
    expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(html).toContain("&lt;b&gt;…");
  });

  it("is self-contained: no script, no external stylesheet, font, image or link", () => {
    const html = renderDashboard(snapshot());
    expect(html).not.toMatch(/<(script|link|iframe|object|embed)\b/i);
    expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(/i);
    expect(html).toMatch(/<meta name="viewport" content="width=device-width, initial-scale=1">/);
  });

  it("registers GET /api/dashboard with function-level auth", async () => {
    const http = vi.spyOn(app, "http").mockImplementation(() => undefined);
    // Imported afresh, so its registrations run again although another test file in this worker
    // may have imported it already (test files share a module cache: vitest.config.ts, isolate).
    vi.resetModules();
    await import("../../functions/dashboard.js");
    expect(http.mock.calls.map(([name, o]) => [name, o.route, o.methods, o.authLevel])).toContainEqual(["dashboard", "dashboard", ["GET"], "function"]);
  });
});
