import { isIP } from "node:net";

/**
 * The one rule for every address the service calls or shows, configured or fetched (gateway, Key
 * Vault, authority, Graph, alert channels, heartbeat, storage, the public base URL): https (plain
 * http only to a loopback emulator), no user:password, and never an address that only makes sense
 * as an attack — link-local (which includes the cloud metadata endpoint), the cloud metadata and
 * platform hosts, the unspecified network, or an IP written in a non-canonical form (hex, octal,
 * a bare integer) that hides which host it is. Private ranges are allowed, because gateways behind
 * a VNet are real, but are reported so `check-config` can list them.
 */
export interface OutboundRule {
  /** Shown in the fix, e.g. https://api.example.com/v1. */
  example: string;
  /** Plain http to 127.0.0.1/localhost/[::1] (the local emulators). Default true. */
  allowHttpLoopback?: boolean;
}

export type OutboundVerdict =
  { ok: true; url: URL; /** Set for private, CGNAT and unique-local addresses. */ privateRange?: string } | { ok: false; problem: string };

/** Host names of cloud metadata and platform services (lower case, no trailing dot). */
const METADATA_HOSTS = new Set([
  "metadata",
  "metadata.google.internal",
  "metadata.goog",
  "metadata.azure.internal",
  "instance-data",
  "instance-data.ec2.internal",
  "metadata.tencentyun.com",
  "metadata.platformequinix.com",
]);

/** Metadata and platform addresses outside link-local (Azure WireServer, Alibaba, Oracle, AWS IPv6). */
const METADATA_ADDRESSES = new Set(["168.63.129.16", "100.100.100.200", "192.0.0.192", "fd00:ec2::254"]);

export function checkOutboundUrl(raw: string, rule: OutboundRule): OutboundVerdict {
  // The URL parser silently drops tabs and line breaks and trims spaces: refuse them instead.
  if (hasSpaceOrControl(raw)) {
    return { ok: false, problem: `contains spaces, line breaks or control characters — write the URL on one line without them, e.g. ${rule.example}` };
  }
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return { ok: false, problem: `is not a URL — write a full https:// URL such as ${rule.example}` };
  }
  const host = u.hostname.toLowerCase().replace(/\.$/, "");
  if (host.length > 253 || host.split(".").some((label) => label.length > 63)) {
    return {
      ok: false,
      problem: `names a host longer than DNS allows (253 characters, 63 per label) — give the service's real host name, e.g. ${rule.example}`,
    };
  }
  const bare = host.startsWith("[") ? host.slice(1, -1) : host;
  const loopback = isLoopbackUrl(raw);
  if (u.protocol !== "https:" && !((rule.allowHttpLoopback ?? true) && u.protocol === "http:" && loopback)) {
    const exception = (rule.allowHttpLoopback ?? true) ? " (plain http only for a 127.0.0.1/localhost emulator)" : "";
    return { ok: false, problem: `must be an https:// URL${exception} — fix the scheme, e.g. ${rule.example}` };
  }
  if (u.username !== "" || u.password !== "") {
    return { ok: false, problem: `must not contain a user name or password — remove the "user:password@" part; credentials live in Key Vault` };
  }
  const written = writtenHost(raw);
  if (isIP(bare) === 4 && written !== undefined && written !== bare) {
    return { ok: false, problem: `writes the IP address ${bare} in a non-canonical form ("${written}") — write it as ${bare}, or better, use the host name` };
  }
  const v4 = isIP(bare) === 4 ? bare : isIP(bare) === 6 ? embeddedIpv4(bare) : undefined;
  if (METADATA_HOSTS.has(host)) {
    return {
      ok: false,
      problem: `names a cloud metadata or platform endpoint (${host}) — the rotator never calls it; give the service's own URL, e.g. ${rule.example}`,
    };
  }
  const refused = isIP(bare) !== 0 ? addressProblem(bare) : undefined;
  if (refused !== undefined) return { ok: false, problem: `${refused} — give the service's own, routable address, e.g. ${rule.example}` };
  const privateRange = v4 !== undefined ? privateV4(v4) : isIP(bare) === 6 && /^f[cd][0-9a-f]{2}:/.test(expandV6(bare)) ? "fc00::/7" : undefined;
  return privateRange !== undefined && !loopback ? { ok: true, url: u, privateRange } : { ok: true, url: u };
}

/**
 * Why an IP address (written in a URL, or what a host name resolved to) must never be called:
 * metadata and platform addresses, link-local, the unspecified address — also inside IPv6 forms
 * that carry an IPv4 address (mapped, compatible, IPv4-translated, NAT64 64:ff9b::/96, 6to4
 * 2002::/16), which a NAT64 or 6to4 gateway turns back into that IPv4 address.
 */
function addressProblem(ip: string): string | undefined {
  const bare = ip.replace(/^\[|\]$/g, "").toLowerCase();
  const family = isIP(bare);
  if (family === 0) return undefined;
  const v4 = family === 4 ? bare : embeddedIpv4(bare);
  if (METADATA_ADDRESSES.has(bare) || (family === 6 && METADATA_ADDRESSES.has(expandV6(bare))) || (v4 !== undefined && METADATA_ADDRESSES.has(v4))) {
    return `names a cloud metadata or platform endpoint (${bare})`;
  }
  if ((v4 !== undefined && inV4(v4, "169.254.0.0", 16)) || (family === 6 && v4 === undefined && /^fe[89ab][0-9a-f]:/.test(expandV6(bare)))) {
    return `is a link-local address (${bare}), which reaches the host's metadata service, not a remote API`;
  }
  if ((v4 !== undefined && inV4(v4, "0.0.0.0", 8)) || (family === 6 && /^[0:]+$/.test(expandV6(bare)))) {
    return `is the unspecified address (${bare})`;
  }
  return undefined;
}

/**
 * The rule once more for an address a host name resolved to, at connect time: a name the operator
 * wrote cannot reach what the address itself may not, and reaches loopback only when the name is
 * one (localhost: the local emulators).
 */
export function resolvedAddressProblem(hostname: string, address: string): string | undefined {
  const refused = addressProblem(address);
  if (refused !== undefined) return `resolved to an address that ${refused}`;
  const v4 = isIP(address) === 4 ? address : isIP(address) === 6 ? embeddedIpv4(address) : undefined;
  // The address side is the whole loopback range; the name side is the one loopback rule below.
  const loopback = address === "::1" || (v4 !== undefined && inV4(v4, "127.0.0.0", 8));
  if (loopback && !isLoopbackHost(hostname.replace(/\.$/, ""))) return `resolved to the loopback address ${address}, which only localhost may name`;
  return undefined;
}

/** Spaces, C0/C1 control characters and the Unicode line separators. */
function hasSpaceOrControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) return true;
  }
  return false;
}

/** The problem with `raw` under the rule, or undefined when it is acceptable. */
export function outboundUrlProblem(raw: string, rule: OutboundRule): string | undefined {
  const v = checkOutboundUrl(raw, rule);
  return v.ok ? undefined : v.problem;
}

/**
 * The one loopback rule: exactly 127.0.0.1, ::1 and localhost, the addresses the local emulators
 * listen on. It decides where plain http is allowed, where Key Vault's challenge-resource check and
 * MSAL's instance discovery are switched off, so it is kept as narrow as is still correct: the rest
 * of 127/8, `localhost.` or a hex/octal spelling are not loopback here (a vault on 127.0.0.2 stands
 * for a foreign host in the tests and must keep challenge verification on).
 */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(["127.0.0.1", "::1", "localhost"]);

/** `host` as a URL's hostname gives it (IPv6 in brackets or not). */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host.toLowerCase().replace(/^\[|\]$/g, ""));
}

/**
 * True when `url` parses and its host, as written (the URL parser turns 127.1 or 0x7f.1 into
 * 127.0.0.1), is loopback; false for anything else.
 */
export function isLoopbackUrl(url: string | undefined): boolean {
  if (!url) return false;
  try {
    const hostname = new URL(url.trim()).hostname.toLowerCase();
    return isLoopbackHost(hostname) && writtenHost(url) === hostname;
  } catch {
    return false;
  }
}

/** The host as the operator wrote it (before the URL parser canonicalised it), lower case, no trailing dot. */
function writtenHost(raw: string): string | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)/i.exec(raw.trim());
  return m?.[1]?.toLowerCase().replace(/\.$/, "");
}

function v4ToInt(ip: string): number {
  return ip.split(".").reduce((n, p) => n * 256 + Number(p), 0);
}

function inV4(ip: string, base: string, bits: number): boolean {
  const size = 2 ** (32 - bits);
  return Math.floor(v4ToInt(ip) / size) === Math.floor(v4ToInt(base) / size);
}

function privateV4(ip: string): string | undefined {
  for (const [base, bits] of [
    ["10.0.0.0", 8],
    ["172.16.0.0", 12],
    ["192.168.0.0", 16],
    ["100.64.0.0", 10],
  ] as const) {
    if (inV4(ip, base, bits)) return `${base}/${bits}`;
  }
  return undefined;
}

/** Full eight-group form of an IPv6 address, lower case (a dotted IPv4 tail becomes two groups). */
function expandV6(ip: string): string {
  let text = ip.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const h = head === "" ? [] : head.split(":");
  const t = tail === undefined || tail === "" ? [] : tail.split(":");
  const fill = tail === undefined ? [] : Array<string>(8 - h.length - t.length).fill("0");
  return [...h, ...fill, ...t].map((g) => g.padStart(4, "0")).join(":");
}

const v4Of = (hi: string, lo: string): string => {
  const a = parseInt(hi, 16);
  const b = parseInt(lo, 16);
  return `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
};

/**
 * The IPv4 address an IPv6 address carries, if any: IPv4-mapped (::ffff:a.b.c.d), -compatible
 * (::a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:AABB:CCDD::).
 */
function embeddedIpv4(ip: string): string | undefined {
  const g = expandV6(ip).split(":");
  if (g.length !== 8) return undefined;
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === "0000");
  if (zero(0, 5) && (g[5] === "ffff" || (g[5] === "0000" && !zero(6, 7)))) return v4Of(g[6]!, g[7]!);
  if (zero(0, 4) && g[4] === "ffff" && g[5] === "0000") return v4Of(g[6]!, g[7]!);
  if (g[0] === "0064" && g[1] === "ff9b" && zero(2, 6)) return v4Of(g[6]!, g[7]!);
  if (g[0] === "2002") return v4Of(g[1]!, g[2]!);
  return undefined;
}

/**
 * The URL without its user:password@ part. For URLs that reach answers and payloads (status links,
 * alert links) from a source the settings check may not have seen (tests, embedders).
 */
export function withoutUserinfo(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, "$1");
}
