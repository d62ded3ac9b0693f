import { mkdirSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import functions from "@azure/functions";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../helpers/browser.js";
import { World, freshContainer } from "../harness/world.js";
import { makeDashboardHandler } from "../../src/dashboard/handler.js";
import type { BuiltRuntime } from "../../src/runtime/createRuntime.js";
import { SecretScanner } from "../helpers/secretScan.js";
import { failingSet, healthySet, logLines, midRotationSet } from "./states.js";

const { HttpRequest, InvocationContext } = functions;

/**
 * GET /api/dashboard rendered by a real browser (Chromium driven by playwright-core, found by
 * tests/helpers/browser.ts: CHROMIUM_PATH, a system Chromium, or the one npm ci brings) with
 * JavaScript OFF, as on-call opens it. Screenshots land in test-output/dashboard/ (not in git).
 */
export const SCREENSHOTS = path.resolve("test-output", "dashboard");

let world: World;
let browser: Browser;
let server: http.Server;
let baseUrl: string;
const pages = new Map<string, BuiltRuntime>();
const served: string[] = [];

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  world = await World.start({ replicationDelayMs: 0 });
  browser = await launchChromium();
  // The handler behind a plain HTTP server, so the browser gets the real headers (CSP included).
  server = http.createServer((req, res) => {
    served.push(req.url ?? "");
    const runtime = pages.get((req.url ?? "").replace(/^\/|\?.*$/g, ""));
    if (!runtime) return void res.writeHead(404).end();
    const handler = makeDashboardHandler(() => Promise.resolve(runtime));
    handler(new HttpRequest({ method: "GET", url: `http://localhost/api/dashboard` }), new InvocationContext({ functionName: "dashboard" })).then(
      (r) => {
        res.writeHead(r.status ?? 200, r.headers as Record<string, string>);
        res.end(r.body as string);
      },
      (e: unknown) => res.writeHead(500).end(String(e)),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => server?.close(r));
  await world?.stop();
});

interface Opened {
  page: Page;
  html: string;
  requests: string[];
  consoleErrors: string[];
}

async function open(name: string, viewport = { width: 1100, height: 900 }): Promise<Opened> {
  const context = await browser.newContext({ javaScriptEnabled: false, viewport });
  const page = await context.newPage();
  const requests: string[] = [];
  const consoleErrors: string[] = [];
  page.on("request", (r) => requests.push(r.url()));
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  const res = await page.goto(`${baseUrl}/${name}`);
  expect(res?.status()).toBe(200);
  expect(res?.headers()["content-security-policy"]).toContain("default-src 'none'");
  return { page, html: await res!.text(), requests, consoleErrors };
}

function scan(html: string): void {
  const scanner = new SecretScanner().addSecrets(world.secrets());
  scanner.collect("dashboard html", html).collectAll("log", logLines);
  expect(scanner.leaks()).toEqual([]);
}

describe("GET /api/dashboard in headless Chromium (JavaScript off)", () => {
  it("a healthy set: HEALTHY, every check passing, 6/6 targets, current and unmanaged secrets on the timeline, no grace window — daily no-op passes do not hide the last rotation's targets and runs", async () => {
    const container = await freshContainer(inject("storageConnectionString"));
    const { runtime, seeded } = await healthySet(world, container, "dash-healthy");
    pages.set("healthy", runtime);
    const { page, html, requests, consoleErrors } = await open("healthy");

    const section = page.locator('section[data-set="dash-healthy"]');
    await expect(section.getAttribute("data-verdict")).resolves.toBe("healthy");
    const text = await section.innerText();
    expect(text).toContain("HEALTHY");
    expect(text).toMatch(/6\/6\s+targets verified/);
    expect(text).toContain("No open incident.");
    expect(await page.locator('li.check[data-status="pass"]').count()).toBeGreaterThanOrEqual(6);
    expect(await page.locator('li.check[data-status="fail"]').count()).toBe(0);
    // Every check shows its state and its hint, passing ones included.
    expect(await section.locator('li.check[data-status="pass"] .hint-ok').count()).toBe(await section.locator('li.check[data-status="pass"]').count());

    const svg = section.locator("svg.timeline");
    await expect(svg.isVisible()).resolves.toBe(true);
    expect(await svg.locator('rect.bar[data-role="current"]').count()).toBe(1);
    expect(await svg.locator('rect.bar[data-role="unmanaged"]').count()).toBe(1);
    expect(await svg.locator('rect.bar[data-role="previous"]').count()).toBe(0);
    expect(await svg.locator("line.marker-today").count()).toBe(1);
    expect(await svg.locator("line.marker-renewal").count()).toBe(1);
    expect(await svg.locator("rect.grace-window").count()).toBe(0);
    // The old hand-made secret was retired: Entra no longer has it, so neither has the picture.
    expect(await svg.locator(`[data-key-id="${seeded.handMade.keyId}"]`).count()).toBe(0);
    // The bar is drawn where its dates say: the current secret ends ~180 days out, right of today.
    const today = await svg.locator("line.marker-today").boundingBox();
    const bar = await svg.locator('rect.bar[data-role="current"]').boundingBox();
    expect(bar!.x + bar!.width).toBeGreaterThan(today!.x + 10);

    // Daily no-op passes do not hide the last rotation: the latest no-op shows once, then the rotation.
    const runs = section.locator("ul.runs > li");
    expect(await section.locator("ul.runs > li.rs-noop").count()).toBe(1);
    expect(await runs.first().getAttribute("class")).toContain("rs-noop");
    const rotation = section.locator("ul.runs > li.rs-succeeded").first();
    expect(await rotation.innerText()).toMatch(/succeeded[\s\S]*retire/);
    // Two passes: the first waited out the grace period at retire, the second retired.
    const steps = (await rotation.locator("ol.steps li").allInnerTexts()).map((t) => t.split(/\s/)[0]);
    expect(steps).toEqual(["plan", "create", "stash", "verify-entra", "promote", "propagate", "verify-targets", "retire", "retire"]);
    expect(await rotation.locator("ol.steps li.st-waiting").innerText()).toMatch(/^retire waiting \d+ ms$/);

    expect(requests).toEqual([`${baseUrl}/healthy`]);
    expect(consoleErrors).toEqual([]);
    await page.screenshot({ path: path.join(SCREENSHOTS, "healthy.png"), fullPage: true });
    scan(html);
  });

  it("a set mid-rotation: ROTATING, current + previous + grace window on the timeline, run waiting at retire", async () => {
    const container = await freshContainer(inject("storageConnectionString"));
    const { runtime, seeded } = await midRotationSet(world, container, "dash-rotating");
    pages.set("rotating", runtime);
    const { page, html, requests } = await open("rotating");

    const section = page.locator('section[data-set="dash-rotating"]');
    await expect(section.getAttribute("data-verdict")).resolves.toBe("rotating");
    const text = await section.innerText();
    expect(text).toContain("ROTATING");
    expect(text).toMatch(/Active run\s+\S+ waiting at step retire — grace period runs until/);
    expect(text).toMatch(/6\/6\s+targets verified/);

    const svg = section.locator("svg.timeline");
    expect(await svg.locator('rect.bar[data-role="current"]').count()).toBe(1);
    expect(await svg.locator(`rect.bar[data-role="previous"][data-key-id="${seeded.handMade.keyId}"]`).count()).toBe(1);
    expect(await svg.locator('rect.bar[data-role="unmanaged"]').count()).toBe(1);
    const grace = svg.locator("rect.grace-window");
    expect(await grace.count()).toBe(1);
    const until = await grace.getAttribute("data-until");
    const run = (await runtime.journals.readState("dash-rotating")).activeRunId!;
    expect(until).toBe((await runtime.journals.readRun("dash-rotating", run))!.retireAfter);
    expect(await svg.locator("text.grace-label").textContent()).toMatch(/^grace → \d{4}-\d\d-\d\d$/);
    expect(await section.locator("ul.runs > li").first().innerText()).toMatch(/waiting/);

    expect(requests).toEqual([`${baseUrl}/rotating`]);
    await page.screenshot({ path: path.join(SCREENSHOTS, "mid-rotation.png"), fullPage: true });
    scan(html);
  });

  it("a set with a failing check: FAILING, the authorize check's AADSTS50011 with its hint, and its open incident", async () => {
    const container = await freshContainer(inject("storageConnectionString"));
    const { page, html, requests } = await (async () => {
      const { runtime } = await failingSet(world, container, "dash-failing");
      pages.set("failing", runtime);
      return open("failing");
    })();

    const section = page.locator('section[data-set="dash-failing"]');
    await expect(section.getAttribute("data-verdict")).resolves.toBe("failing");
    const failing = section.locator("li.check[data-status=fail]");
    expect(await failing.count()).toBeGreaterThanOrEqual(1);
    const all = await failing.allInnerTexts();
    expect(all.join("\n")).toContain("AADSTS50011");
    expect(await section.locator("li.check[data-status=fail] .hint").first().isVisible()).toBe(true);
    const incidents = await section.locator("li.incident").allInnerTexts();
    expect(incidents.join("\n")).toMatch(/mcp-sso-rotator\.dash-failing\.(authorize|gateway-drift)/);
    expect(await page.locator("header .overview").innerText()).toContain("FAILING dash-failing");

    expect(requests).toEqual([`${baseUrl}/failing`]);
    await page.screenshot({ path: path.join(SCREENSHOTS, "failing.png"), fullPage: true });
    scan(html);
  });

  it("is readable on a phone: no horizontal scrolling at 390 px, the timeline scales down to fit", async () => {
    const { page } = await open("failing", { width: 390, height: 844 });
    const widths = await page.evaluate<number[]>("[document.documentElement.scrollWidth, document.documentElement.clientWidth]");
    expect(widths[0]).toBeLessThanOrEqual(widths[1]!);
    const svgBox = await page.locator("svg.timeline").first().boundingBox();
    expect(svgBox!.width).toBeLessThanOrEqual(390);
    // What a phone shows first, before scrolling.
    await page.screenshot({ path: path.join(SCREENSHOTS, "failing-phone.png") });
  });
});
