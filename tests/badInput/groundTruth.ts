import type { ContainerClient } from "@azure/storage-blob";
import type { World } from "../harness/world.js";

/**
 * Everything a bad input could change, read from ground truth: every Storage blob (name + ETag),
 * every Key Vault secret version (value fingerprint, enabled, tags), every password credential on
 * every app Entra holds for the world, and every MCP server on the gateway. Two equal snapshots mean
 * nothing changed.
 */
export async function groundTruth(world: World, container: ContainerClient, appObjectIds: string[]): Promise<string> {
  const blobs: string[] = [];
  for await (const b of container.listBlobsFlat({ includeMetadata: false })) blobs.push(`${b.name} ${b.properties.etag ?? ""}`);
  const vault = world.keyVault.state
    .listSecrets()
    .map((s) => world.keyVault.versions(s.name).map((v) => `${v.name}/${v.version} ${v.enabled} ${v.value.length} ${JSON.stringify(v.tags)} ${v.deleted}`));
  const entra = appObjectIds.map((id) => world.entra.passwordCredentials(id).map((c) => `${c.keyId} ${c.endDateTime ?? ""}`));
  const gateway = world.gateway.servers().map((s) => JSON.stringify(s));
  return JSON.stringify({ blobs: blobs.sort(), vault, entra, gateway });
}

/** A readable difference between two snapshots (the first lines that differ). */
export function snapshotDiff(before: string, after: string): string[] {
  if (before === after) return [];
  const a = JSON.parse(before) as Record<string, unknown>;
  const b = JSON.parse(after) as Record<string, unknown>;
  return Object.keys(a)
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => `${k} changed: ${JSON.stringify(a[k]).slice(0, 300)} → ${JSON.stringify(b[k]).slice(0, 300)}`);
}
