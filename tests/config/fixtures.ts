import { expect } from "vitest";
import { ConfigError } from "../../src/errors.js";
import { collectCredentialSets } from "../../src/config/load.js";

/**
 * Raw credential-set JSON as tests write it: any field may be set to any value, nested paths
 * included, because the point is to feed the loader what an operator might type.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- deliberately untyped input
export type RawJson = Record<string, any>;

/** A complete, valid cequence set; tests clone and break it. */
export function validCequenceSet(): RawJson {
  return {
    name: "cequence-sso",
    tenantId: "3f9a6c1e-5b2d-4e8f-9a7c-1d2e3f4a5b6c",
    clientId: "7c2e9b4a-1f3d-4a6e-8b5c-2d4f6a8b0c1e",
    keyVault: { url: "https://kv-mcp-sso.vault.azure.net", secretName: "cequence-sso-client-secret" },
    gateway: {
      kind: "cequence",
      baseUrl: "https://api.aigateway.example.com/v1",
      tenant: "contoso",
      apiTokenSecretName: "cequence-gateway-api-token",
    },
    alerts: [{ kind: "teams", name: "platform-teams", urlSecretName: "alert-teams-url" }],
  };
}

export function validManualSet(): RawJson {
  return {
    name: "legacy-sso",
    tenantId: "3f9a6c1e-5b2d-4e8f-9a7c-1d2e3f4a5b6c",
    clientId: "4e6a8c0e-2b4d-4f6a-9c8e-0a2c4e6a8c0e",
    keyVault: { url: "https://kv-mcp-sso.vault.azure.net", secretName: "legacy-sso-client-secret" },
    gateway: { kind: "manual", targets: ["hr-knowledge-mcp"] },
  };
}

/** Runs `fn`, which must throw a ConfigError, and returns it. */
export function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw new Error(`expected a ConfigError, got ${String(err)}`);
  }
  throw new Error("expected a ConfigError, but nothing was thrown");
}

/** The field path of one rendered issue (`sets[0].name: …` → `sets[0].name`). */
export function pathOf(issue: string): string {
  return issue.slice(0, issue.indexOf(": "));
}

/** The issue for `path`, or a failure listing what was reported instead. */
export function issueAt(err: ConfigError, path: string): string {
  const found = err.issues.find((i) => pathOf(i) === path);
  if (!found) throw new Error(`no issue at ${path}; issues were:\n${err.issues.join("\n")}`);
  return found;
}

/** The valid cequence set with its gateway as the first target group and `group` as the second, loaded as check-config does. */
export function withSecondGroup(group: Record<string, unknown>) {
  const raw = validCequenceSet();
  raw.groups = [raw.gateway, group];
  delete raw.gateway;
  return collectCredentialSets({ json: JSON.stringify({ sets: [raw] }) });
}

/** Each case's group, loaded second, is refused with an issue at `field` whose text matches `fix`. */
export function expectGroupIssues(cases: [Record<string, unknown>, string, RegExp][]): void {
  for (const [group, field, fix] of cases) {
    const r = withSecondGroup(group);
    expect(r.ok).toBe(false);
    if (r.ok) continue;
    const line = r.issues.find((i) => i.includes(field));
    expect(line, `${field} in ${r.issues.join(" | ")}`).toBeDefined();
    expect(line).toMatch(fix);
  }
}
