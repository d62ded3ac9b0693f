import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createCertificateAuthority, sharedCertificateAuthority } from "./tls.js";

// What the Azure SDKs and Node's TLS client check (RFC 5280 basic constraints, RFC 6125 / RFC 2818
// host names in subjectAltName): https://nodejs.org/api/crypto.html#class-x509certificate
describe("emulator certificate authority", () => {
  it("is a CA, and its localhost leaf is signed by it with SAN DNS:localhost and IP:127.0.0.1", () => {
    const ca = sharedCertificateAuthority();
    const caCert = new X509Certificate(ca.caCertPem);
    const leaf = new X509Certificate(ca.issue().cert);
    expect(caCert.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(caCert)).toBe(true);
    expect(leaf.verify(caCert.publicKey)).toBe(true);
    expect(leaf.checkHost("localhost")).toBe("localhost");
    expect(leaf.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(leaf.checkIP("127.0.0.2")).toBeUndefined();
    expect(leaf.keyUsage).toContain("1.3.6.1.5.5.7.3.1"); // extended key usage: serverAuth
  });

  it("issues a leaf for other hosts asynchronously, and refuses them synchronously", async () => {
    const ca = sharedCertificateAuthority();
    const leaf = new X509Certificate((await ca.issueFor(["127.0.0.2"])).cert);
    expect(leaf.checkIP("127.0.0.2")).toBe("127.0.0.2");
    expect(leaf.verify(new X509Certificate(ca.caCertPem).publicKey)).toBe(true);
    expect(() => ca.issue(["127.0.0.2"])).toThrow(/issueFor/);
  });

  it("does not verify a leaf against another CA", async () => {
    const other = await createCertificateAuthority();
    const leaf = new X509Certificate(sharedCertificateAuthority().issue().cert);
    expect(leaf.verify(new X509Certificate(other.caCertPem).publicKey)).toBe(false);
  });
});
