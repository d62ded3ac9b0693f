import type { CredentialSet, GatewayConfig } from "./schema.js";

/**
 * A set's target groups (DESIGN.md § Target groups). A file in the old form names one `gateway`:
 * it is the set's first and only group, so every reader asks here rather than reading either field.
 */
export function targetGroupsOf(set: Pick<CredentialSet, "gateway" | "groups">): GatewayConfig[] {
  return set.groups ?? [set.gateway];
}

/** check-config's advice for a set still written in the old form; undefined for the new form. */
export function oldFormAdvice(set: Pick<CredentialSet, "name" | "gateway" | "groups">): string | undefined {
  if (set.groups) return undefined;
  return (
    `set ${set.name} uses the older single "gateway": { "kind": "${set.gateway.kind}", … }; it is read as one target group. ` +
    `To add more places the secret lives, write "groups": [ { "kind": "${set.gateway.kind}", … } ] with the same fields, add the other groups after it, and delete "gateway"`
  );
}
