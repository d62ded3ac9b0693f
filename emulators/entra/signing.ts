import { generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from "node:crypto";

/**
 * The emulator's token-signing key, as Entra publishes its own: access tokens are JWTs signed with
 * RS256, the header's `kid` names the key, and the public half is served as a JSON Web Key Set at
 * the discovery document's `jwks_uri` (Microsoft Learn, "Access token claims reference" and
 * "Signing key rollover in the Microsoft identity platform").
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

// One RSA-2048 pair per process, made on first use: generating one costs 0.1–0.8 s of CPU on these
// machines and a test run starts dozens of emulators. Each emulator still has its own `kid` and
// accepts only tokens naming it, so one emulator never takes another's tokens.
let sharedPair: { privateKey: KeyObject; publicKey: KeyObject } | undefined;
function keyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  sharedPair ??= generateKeyPairSync("rsa", { modulusLength: 2048 });
  return sharedPair;
}

export class TokenSigner {
  /** 27 base64url characters, the shape of Entra's key IDs (a SHA-1 thumbprint). */
  readonly kid = b64url(randomBytes(20));

  /** The key set served at every `jwks_uri` of this emulator. */
  jwks(): { keys: JsonWebKey[] } {
    const jwk = keyPair().publicKey.export({ format: "jwk" }) as { n: string; e: string };
    return { keys: [{ kty: "RSA", use: "sig", kid: this.kid, n: jwk.n, e: jwk.e }] };
  }

  /** A compact JWS: `base64url(header).base64url(claims).base64url(RS256 signature)`. */
  sign(claims: JwtClaims): string {
    const input = `${b64url(JSON.stringify({ typ: "JWT", alg: "RS256", kid: this.kid }))}.${b64url(JSON.stringify(claims))}`;
    return `${input}.${b64url(sign("RSA-SHA256", Buffer.from(input), keyPair().privateKey))}`;
  }

  /** The claims of a token this signer signed (any expiry), or undefined for anything else. */
  verify(token: string): JwtClaims | undefined {
    const parts = token.split(".");
    if (parts.length !== 3) return undefined;
    const [h, p, s] = parts as [string, string, string];
    try {
      const header = JSON.parse(Buffer.from(h, "base64url").toString("utf8")) as { alg?: unknown; kid?: unknown };
      if (header.alg !== "RS256" || header.kid !== this.kid) return undefined;
      if (!verify("RSA-SHA256", Buffer.from(`${h}.${p}`), keyPair().publicKey, Buffer.from(s, "base64url"))) return undefined;
      const claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as unknown;
      return claims && typeof claims === "object" && !Array.isArray(claims) ? (claims as JwtClaims) : undefined;
    } catch {
      return undefined;
    }
  }
}
