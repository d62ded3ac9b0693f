import { createHash, generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";

/**
 * The emulator's token-signing key, as Entra publishes its own: access tokens are JWTs signed with
 * RS256, the header's `kid` names the key, and the public half is served as a JSON Web Key Set at
 * the discovery document's `jwks_uri` (Microsoft Learn, "Access token claims reference" and
 * "Signing key rollover in the Microsoft identity platform"). The pair is made on first use, so an
 * emulator that never issues a token never pays for an RSA key generation.
 */
export interface JsonWebKey {
  kty: "RSA";
  use: "sig";
  kid: string;
  n: string;
  e: string;
}

export type JwtClaims = Record<string, unknown>;

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

export class TokenSigner {
  private key: { privateKey: KeyObject; publicKey: KeyObject; kid: string } | undefined;

  private pair(): { privateKey: KeyObject; publicKey: KeyObject; kid: string } {
    if (!this.key) {
      const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
      // Entra's kid is a base64url SHA-1 thumbprint (27 characters); this one is taken over the public key.
      const kid = b64url(createHash("sha1").update(publicKey.export({ type: "spki", format: "der" })).digest());
      this.key = { privateKey, publicKey, kid };
    }
    return this.key;
  }

  /** The key set served at every `jwks_uri` of this emulator. */
  jwks(): { keys: JsonWebKey[] } {
    const { publicKey, kid } = this.pair();
    const jwk = publicKey.export({ format: "jwk" }) as { n: string; e: string };
    return { keys: [{ kty: "RSA", use: "sig", kid, n: jwk.n, e: jwk.e }] };
  }

  /** A compact JWS: `base64url(header).base64url(claims).base64url(RS256 signature)`. */
  sign(claims: JwtClaims): string {
    const { privateKey, kid } = this.pair();
    const input = `${b64url(JSON.stringify({ typ: "JWT", alg: "RS256", kid }))}.${b64url(JSON.stringify(claims))}`;
    return `${input}.${b64url(sign("RSA-SHA256", Buffer.from(input), privateKey))}`;
  }

  /** The claims of a token this signer signed (any expiry), or undefined for anything else. */
  verify(token: string): JwtClaims | undefined {
    const parts = token.split(".");
    if (parts.length !== 3 || !this.key) return undefined;
    const [h, p, s] = parts as [string, string, string];
    try {
      const header = JSON.parse(Buffer.from(h, "base64url").toString("utf8")) as { alg?: unknown; kid?: unknown };
      if (header.alg !== "RS256" || header.kid !== this.key.kid) return undefined;
      if (!verify("RSA-SHA256", Buffer.from(`${h}.${p}`), this.key.publicKey, Buffer.from(s, "base64url"))) return undefined;
      const claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as unknown;
      return claims && typeof claims === "object" && !Array.isArray(claims) ? (claims as JwtClaims) : undefined;
    } catch {
      return undefined;
    }
  }
}
