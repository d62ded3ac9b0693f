import { generateKeyPairSync, randomBytes } from "node:crypto";
import forge from "node-forge";

/**
 * A throw-away certificate authority for the local emulators. The real SDKs only talk https to
 * Entra, Graph and Key Vault, so each emulator serves a leaf certificate for localhost/127.0.0.1
 * signed by this CA, and clients trust the CA (per client `ca` option or NODE_EXTRA_CA_CERTS).
 */
export interface CertificateAuthority {
  caCertPem: string;
  issue(hosts?: string[]): { key: string; cert: string };
}

function rsaKeys(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; privatePem: string } {
  // Node's native generator is ~100x faster than forge's pure-JS one.
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  return {
    privateKey: forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey,
    publicKey: forge.pki.publicKeyFromPem(publicKey) as forge.pki.rsa.PublicKey,
    privatePem: privateKey,
  };
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString("hex");
}

export function createCertificateAuthority(): CertificateAuthority {
  const ca = rsaKeys();
  const caCert = forge.pki.createCertificate();
  caCert.publicKey = ca.publicKey;
  caCert.serialNumber = serial();
  caCert.validity.notBefore = new Date(Date.now() - 86_400_000);
  caCert.validity.notAfter = new Date(Date.now() + 3 * 365 * 86_400_000);
  const caName = [{ name: "commonName", value: "mcp-sso-rotator local emulator CA" }];
  caCert.setSubject(caName);
  caCert.setIssuer(caName);
  caCert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  caCert.sign(ca.privateKey, forge.md.sha256.create());
  const caCertPem = forge.pki.certificateToPem(caCert);

  return {
    caCertPem,
    issue(hosts = ["localhost", "127.0.0.1"]) {
      const leaf = rsaKeys();
      const cert = forge.pki.createCertificate();
      cert.publicKey = leaf.publicKey;
      cert.serialNumber = serial();
      cert.validity.notBefore = new Date(Date.now() - 86_400_000);
      cert.validity.notAfter = new Date(Date.now() + 365 * 86_400_000);
      cert.setSubject([{ name: "commonName", value: hosts[0] ?? "localhost" }]);
      cert.setIssuer(caCert.subject.attributes);
      cert.setExtensions([
        { name: "basicConstraints", cA: false },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
        { name: "extKeyUsage", serverAuth: true },
        {
          name: "subjectAltName",
          altNames: hosts.map((h) => (/^\d+\.\d+\.\d+\.\d+$/.test(h) ? { type: 7, ip: h } : { type: 2, value: h })),
        },
      ]);
      cert.sign(ca.privateKey, forge.md.sha256.create());
      return { key: leaf.privatePem, cert: forge.pki.certificateToPem(cert) };
    },
  };
}

let shared: CertificateAuthority | undefined;
/** One CA per process, so every emulator in a test run is trusted through one PEM. */
export function sharedCertificateAuthority(): CertificateAuthority {
  shared ??= createCertificateAuthority();
  return shared;
}
