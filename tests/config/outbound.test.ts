import { describe, expect, it } from "vitest";
import { loadCredentialSets } from "../../src/config/load.js";
import { checkOutboundUrl, isLoopbackUrl, outboundUrlProblem, withoutUserinfo } from "../../src/config/outbound.js";
import { loadAppSettings } from "../../src/config/settings.js";
import { describeCredentialSets } from "../../src/config/summary.js";
import { configErrorOf, issueAt, validCequenceSet } from "./fixtures.js";

/** One outbound-address rule for every configured or fetched URL. */
const rule = { example: "https://api.example.com" };

describe("outbound address rule", () => {
  it.each([
    ["http://169.254.169.254/metadata/instance", "https:// URL"],
    ["https://169.254.169.254/metadata/instance", "link-local"],
    ["https://[fe80::1]/x", "link-local"],
    ["https://[::ffff:169.254.169.254]/x", "link-local"],
    ["https://0xa9fea9fe/x", "non-canonical"],
    ["https://2852039166/x", "non-canonical"],
    ["https://0251.0376.0251.0376/x", "non-canonical"],
    ["https://169.254.43518/x", "non-canonical"],
    ["https://127.1:8443/x", "non-canonical"],
    ["https://metadata.google.internal/computeMetadata/v1/", "metadata"],
    ["https://METADATA.google.internal./x", "metadata"],
    ["https://168.63.129.16/machine", "metadata"],
    ["https://[fd00:ec2::254]/latest", "metadata"],
    ["https://0.0.0.0:443/", "unspecified"],
    ["https://user:pw@api.example.com", "user name or password"],
    ["ftp://api.example.com", "https:// URL"],
    ["not-a-url", "is not a URL"],
    ["https://a.example.com/x\r\nX-Injected: 1", "line breaks"],
    [`https://${"a".repeat(64)}.example.com`, "longer than DNS allows"],
  ])("addresses that should never be called: refuses %s", (url, why) => {
    expect(outboundUrlProblem(url, rule)).toContain(why);
  });

  it("one loopback rule (vault challenge check, MSAL instance discovery, plain http): exactly 127.0.0.1, ::1 and localhost, as written", () => {
    for (const url of ["https://127.0.0.1:8443", "https://LOCALHOST:8443", "https://[::1]:9000", "http://localhost:7071/x"]) {
      expect(isLoopbackUrl(url), url).toBe(true);
    }
    for (const url of [
      "https://127.0.0.2:8443",
      "https://127.1:8443",
      "https://0x7f.0.0.1",
      "https://localhost.:8443",
      "https://127.0.0.1.vault.example.com",
      "https://login.microsoftonline.com",
      "not a url",
      undefined,
    ]) {
      expect(isLoopbackUrl(url), String(url)).toBe(false);
    }
  });

  it("plain http to 127.0.0.2 was accepted as an emulator while Key Vault's loopback rule called the same host foreign: refused now", () => {
    expect(outboundUrlProblem("http://127.0.0.2:7071/x", rule)).toContain("must be an https:// URL");
  });

  it("allows public hosts, loopback emulators over http, and private ranges — reporting the private range", () => {
    expect(checkOutboundUrl("https://api.example.com/v1", rule)).toMatchObject({ ok: true });
    expect(checkOutboundUrl("http://127.0.0.1:7071/x", rule)).toMatchObject({ ok: true });
    expect(checkOutboundUrl("https://[::1]:8443/x", rule)).toMatchObject({ ok: true });
    expect(checkOutboundUrl("https://10.20.30.40/api", rule)).toMatchObject({ ok: true, privateRange: "10.0.0.0/8" });
    expect(checkOutboundUrl("https://172.20.0.5/api", rule)).toMatchObject({ ok: true, privateRange: "172.16.0.0/12" });
    expect(checkOutboundUrl("https://[fd12::5]/api", rule)).toMatchObject({ ok: true, privateRange: "fc00::/7" });
    expect(checkOutboundUrl("http://10.0.0.1/x", rule)).toMatchObject({ ok: false });
  });

  it("strips user:password@ from a URL that is shown", () => {
    expect(withoutUserinfo("https://a:b@rotator.example.com/x")).toBe("https://rotator.example.com/x");
  });
});

describe("outbound address rule in the configuration", () => {
  const load = (set: ReturnType<typeof validCequenceSet>) => loadCredentialSets({ json: JSON.stringify({ sets: [set] }) });

  it.each([
    ["gateway.baseUrl", (s: ReturnType<typeof validCequenceSet>) => (s.gateway.baseUrl = "https://169.254.169.254/v1")],
    ["keyVault.url", (s: ReturnType<typeof validCequenceSet>) => (s.keyVault.url = "https://0xa9fea9fe")],
    ["authorityHost", (s: ReturnType<typeof validCequenceSet>) => (s.authorityHost = "https://metadata.google.internal")],
    ["graphBaseUrl", (s: ReturnType<typeof validCequenceSet>) => (s.graphBaseUrl = "https://[fe80::1]")],
    [
      "alerts[0].eventsUrl",
      (s: ReturnType<typeof validCequenceSet>) =>
        (s.alerts = [{ kind: "pagerduty", routingKeySecretName: "pd-key", eventsUrl: "https://2852039166/v2/enqueue" }]),
    ],
  ])("addresses that should never be called: refuses %s", (field, breakIt) => {
    const set = validCequenceSet();
    breakIt(set);
    const err = configErrorOf(() => load(set));
    expect(issueAt(err, `sets[0].${field}`)).toMatch(/link-local|non-canonical|metadata/);
  });

  it("accepts a gateway in a private range and check-config lists it", () => {
    const set = validCequenceSet();
    set.gateway.baseUrl = "https://10.1.2.3/v1";
    const summary = describeCredentialSets(load(set));
    expect(summary).toContain("private network gateway.baseUrl https://10.1.2.3/v1 (10.0.0.0/8)");
  });

  it("check-config lists every target group's private addresses, by the group's own field (regression: only a cequence gateway and a Kong adminUrl were looked at)", () => {
    const set = validCequenceSet();
    set.gateway.baseUrl = "https://10.1.2.3/v1";
    set.groups = [
      set.gateway,
      { kind: "kong-openid-connect", adminUrl: "https://192.168.7.8:8444", adminTokenSecretName: "kong-admin-token" },
      {
        kind: "kong-openid-connect",
        api: "konnect",
        konnectUrl: "https://172.16.0.9/v2",
        controlPlaneId: "7f3c9a2e-4b1d-4e8f-9a6c-2d3e4f5a6b7c",
        accessTokenSecretName: "konnect-token",
      },
    ];
    delete (set as { gateway?: unknown }).gateway;
    const summary = describeCredentialSets(load(set));
    expect(summary).toContain("groups[0].baseUrl https://10.1.2.3/v1 (10.0.0.0/8)");
    expect(summary).toContain("groups[1].adminUrl https://192.168.7.8:8444 (192.168.0.0/16)");
    expect(summary).toContain("groups[2].konnectUrl https://172.16.0.9/v2 (172.16.0.0/12)");
    expect(summary).not.toContain("gateway.baseUrl");
  });

  it("refuses HEARTBEAT_URL at the metadata address", () => {
    const err = configErrorOf(() =>
      loadAppSettings({ AzureWebJobsStorage: "UseDevelopmentStorage=true", CREDENTIAL_SETS_FILE: "x.json", HEARTBEAT_URL: "https://169.254.169.254/ping" }),
    );
    expect(issueAt(err, "HEARTBEAT_URL")).toContain("link-local");
  });
});
