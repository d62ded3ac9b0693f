import https from "node:https";
import { rootCertificates } from "node:tls";
import { describe, expect, it } from "vitest";
import { trustedAgentOptions, trustedCas, trustedSecureContext } from "../../src/http/tls.js";
import { EmulatorServer } from "../../emulators/common/server.js";
import { sharedCertificateAuthority } from "../../emulators/common/tls.js";

describe("one trust for every client (http/tls.ts)", () => {
  it("trusts Node's public roots plus the extra CA, and only the system store without one", () => {
    const ca = trustedCas("extra")!;
    expect(ca).toContain(rootCertificates[0]);
    expect(ca.at(-1)).toBe("extra");
    expect(trustedCas(undefined)).toBeUndefined();
    expect(trustedAgentOptions(undefined)).toEqual({});
    expect(trustedAgentOptions("")).toEqual({});
  });

  it("builds the secure context once per CA, and an agent's connection-pool key no longer carries the CA list", async () => {
    const authority = sharedCertificateAuthority();
    const server = new EmulatorServer({ name: "tls-probe", tls: authority.issue() });
    server.route("GET", /^\/hello$/, () => ({ status: 200, body: { ok: true } }));
    await server.start();
    try {
      const ca = authority.caCertPem;
      expect(trustedSecureContext(ca)).toBe(trustedSecureContext(ca));
      const agent = new https.Agent(trustedAgentOptions(ca));
      // Node writes a `ca` option into the key of every request (several times a request).
      expect(agent.getName({ host: "127.0.0.1", port: 443 }).length).toBeLessThan(200);
      const body = await new Promise<string>((resolve, reject) =>
        https.get(`${server.url}/hello`, { agent }, (res) => res.on("data", (d: Buffer) => resolve(d.toString()))).on("error", reject),
      );
      expect(JSON.parse(body)).toEqual({ ok: true });
    } finally {
      await server.close();
    }
  });
});
