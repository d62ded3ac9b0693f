import { describe, expect, it } from "vitest";
import { SecretScanner } from "./secretScan.js";

describe("secret scan helper", () => {
  it("reports a secret found in any collected output, without printing it", () => {
    const secret = "Abc8Q~super-secret-value-123";
    const scan = new SecretScanner().addSecrets([secret]).collect("log", `token request with ${secret}`);
    expect(() => scan.assertClean()).toThrow(/log contains Abc…\(28 chars\)/);
    expect(() => scan.assertClean()).not.toThrow(new RegExp(secret));
  });

  it("finds URL-encoded and base64 forms, and secrets nested in objects and errors", () => {
    const secret = "Xy7Q~a/b+c=d&e-long-enough";
    const scan = new SecretScanner()
      .addSecrets([secret])
      .collect("form", `client_secret=${encodeURIComponent(secret)}`)
      .collect("json", { nested: { v: Buffer.from(secret).toString("base64") } })
      .collect("error", new Error("boom", { cause: new Error(secret) }));
    expect(scan.leaks().map((l) => l.where)).toEqual(["form", "json", "error"]);
  });

  it("passes clean output and refuses to pass when nothing was registered", () => {
    const scan = new SecretScanner().addSecrets(["a-secret-value-0001"]).collect("log", "all good [REDACTED]");
    expect(scan.assertClean()).toBe(1);
    expect(() => new SecretScanner().collect("x", "y").assertClean()).toThrow(/no secrets registered/);
  });
});

describe("secret scan helper: fragments", () => {
  const secret = "Kq3Q~frag/ment+scan=value&000111222";
  it("finds 8-character runs of a secret raw, cut, JSON-escaped, URL-encoded and base64 at any alignment", () => {
    const scan = new SecretScanner()
      .addSecrets([secret])
      .collect("cut", `…${secret.slice(0, 9)}`)
      .collect("b64-shifted", Buffer.from(`xy${secret}`).toString("base64"))
      .collect("b64url", Buffer.from(`z${secret}`).toString("base64url"))
      .collect("url", encodeURIComponent(secret))
      .collect("json", JSON.stringify(JSON.stringify({ s: secret })))
      .collect("short", secret.slice(3, 10));
    expect([...new Set(scan.fragmentLeaks().map((l) => l.where))]).toEqual(["cut", "b64-shifted", "b64url", "url", "json"]);
  });
});
