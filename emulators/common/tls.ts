import { generate } from "selfsigned";

/**
 * A throw-away certificate authority for the local emulators. The real SDKs only talk https to
 * Entra, Graph and Key Vault, so each emulator serves a leaf certificate for localhost/127.0.0.1
 * signed by this CA, and clients trust the CA (per client `ca` option or NODE_EXTRA_CA_CERTS).
 * The certificates are made by `selfsigned` (maintained; X.509 through @peculiar/x509 and
 * WebCrypto), which signs a leaf with a given CA key.
 */
interface ServerTls {
  key: string;
  cert: string;
}

export interface CertificateAuthority {
  caCertPem: string;
  /** A leaf for any hosts (DNS names or IPv4 addresses), signed by this CA. */
  issueFor(hosts: string[]): Promise<ServerTls>;
  /**
   * The leaf for localhost + 127.0.0.1, issued when the CA was made: emulator constructors are
   * synchronous and certificate signing is not. Other host lists go through `issueFor`.
   */
  issue(hosts?: string[]): ServerTls;
}

const LOCAL_HOSTS = ["localhost", "127.0.0.1"];
const DAY_MS = 86_400_000;

function altNames(hosts: string[]): Array<{ type: 2; value: string } | { type: 7; ip: string }> {
  return hosts.map((h) => (/^\d+\.\d+\.\d+\.\d+$/.test(h) ? { type: 7 as const, ip: h } : { type: 2 as const, value: h }));
}

export async function createCertificateAuthority(): Promise<CertificateAuthority> {
  const ca = await generate([{ name: "commonName", value: "mcp-sso-rotator local emulator CA" }], {
    keySize: 2048,
    algorithm: "sha256",
    notBeforeDate: new Date(Date.now() - DAY_MS),
    notAfterDate: new Date(Date.now() + 3 * 365 * DAY_MS),
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const issueFor = async (hosts: string[]): Promise<ServerTls> => {
    const leaf = await generate([{ name: "commonName", value: hosts[0] ?? "localhost" }], {
      keySize: 2048,
      algorithm: "sha256",
      notBeforeDate: new Date(Date.now() - DAY_MS),
      notAfterDate: new Date(Date.now() + 365 * DAY_MS),
      ca: { key: ca.private, cert: ca.cert },
      extensions: [
        { name: "basicConstraints", cA: false },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
        { name: "extKeyUsage", serverAuth: true },
        { name: "subjectAltName", altNames: altNames(hosts) },
      ],
    });
    return { key: leaf.private, cert: leaf.cert };
  };
  const local = await issueFor(LOCAL_HOSTS);
  return {
    caCertPem: ca.cert,
    issueFor,
    issue(hosts = LOCAL_HOSTS) {
      if (hosts.length !== LOCAL_HOSTS.length || hosts.some((h, i) => h !== LOCAL_HOSTS[i])) {
        throw new Error(`issue() serves only ${LOCAL_HOSTS.join(" + ")}; use await issueFor([${hosts.join(", ")}]) for other hosts`);
      }
      return local;
    },
  };
}

// One CA per process, so every emulator in a test run is trusted through one PEM. Made when this
// module loads (top-level await) so synchronous emulator constructors can use it.
const shared = await createCertificateAuthority();
export function sharedCertificateAuthority(): CertificateAuthority {
  return shared;
}
