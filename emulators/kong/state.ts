import { randomUUID } from "node:crypto";

/**
 * Plugin entities of a Kong Gateway (Enterprise) Admin API or a Konnect control plane, as
 * ../shared/specs/kong-openid-connect.md describes them (§ Plugin object): `created_at`/`updated_at`
 * in unix seconds, `config` a record, no ETag or version field. Only the `openid-connect` config
 * fields that concern the client secret are modelled (§ `openid-connect` config fields); any other
 * config key is a schema violation. Each plugin lives in one scope: a workspace (§ Admin API
 * endpoints: `/{workspace}/…`) or a control plane (§ Konnect equivalent). The scope is not part of
 * the entity the API returns.
 */
export interface KongPlugin {
  id: string;
  name: string;
  instance_name: string | null;
  created_at: number;
  updated_at: number;
  route: { id: string } | null;
  service: { id: string } | null;
  consumer: { id: string } | null;
  config: OidcConfig;
  protocols: string[];
  enabled: boolean;
  tags: string[] | null;
}

/** The config fields with a default (`issuer` has none). */
interface DefaultedConfig {
  client_id: string[] | null;
  client_secret: string[] | null;
  client_auth: string[] | null;
  auth_methods: string[];
  client_arg: string;
  cache_tokens: boolean;
  cache_ttl: number;
}

interface OidcConfig extends DefaultedConfig {
  issuer: string;
  [key: string]: unknown;
}

export interface SeedPluginInput {
  issuer: string;
  clientIds: string[];
  clientSecrets: string[];
  instanceName?: string;
  serviceId?: string;
  clientAuth?: string[];
  tags?: string[];
}

/** What a field left out of a PUT becomes (§ Konnect equivalent: PUT is a full upsert). Defaults of schema 3.12.x; `issuer` and `name` have none. */
export function defaultEntity(): Omit<KongPlugin, "id" | "name" | "created_at" | "updated_at" | "config"> & { config: DefaultedConfig } {
  return {
    instance_name: null,
    route: null,
    service: null,
    consumer: null,
    config: {
      client_id: null,
      client_secret: null,
      client_auth: null,
      auth_methods: ["authorization_code", "bearer", "client_credentials", "introspection", "kong_oauth2", "password", "refresh_token", "session", "userinfo"],
      client_arg: "client_id",
      cache_tokens: true,
      cache_ttl: 3600,
    },
    protocols: ["grpc", "grpcs", "http", "https"],
    enabled: true,
    tags: null,
  };
}

export class KongState {
  private readonly plugins = new Map<string, { scope: string; plugin: KongPlugin }>();
  private readonly everStored = new Set<string>();

  constructor(private readonly nowSeconds: () => number) {}

  seed(input: SeedPluginInput, scope: string): KongPlugin {
    const at = this.nowSeconds();
    const defaults = defaultEntity();
    const plugin: KongPlugin = {
      ...defaults,
      id: randomUUID(),
      name: "openid-connect",
      instance_name: input.instanceName ?? null,
      created_at: at,
      updated_at: at,
      service: input.serviceId ? { id: input.serviceId } : null,
      config: {
        ...defaults.config,
        issuer: input.issuer,
        client_id: [...input.clientIds],
        client_secret: [...input.clientSecrets],
        client_auth: input.clientAuth ?? null,
      },
      tags: input.tags ?? null,
    };
    this.plugins.set(plugin.id, { scope, plugin });
    this.remember(plugin);
    return structuredClone(plugin);
  }

  /** In creation order, as the list pages walk them; one scope's, or every plugin. */
  all(scope?: string): KongPlugin[] {
    return [...this.plugins.values()].filter((e) => scope === undefined || e.scope === scope).map((e) => structuredClone(e.plugin));
  }

  get(id: string): KongPlugin | undefined {
    const e = this.plugins.get(id);
    return e ? structuredClone(e.plugin) : undefined;
  }

  scopeOf(id: string): string | undefined {
    return this.plugins.get(id)?.scope;
  }

  /**
   * Stores a validated entity in its scope (a new one: in `scope`); `updated_at` moves on
   * (§ Concurrency: "updated_at changes on each update").
   */
  put(plugin: KongPlugin, scope?: string): KongPlugin {
    const stored = { ...structuredClone(plugin), updated_at: Math.max(this.nowSeconds(), plugin.updated_at + 1) };
    const where = this.plugins.get(plugin.id)?.scope ?? scope;
    if (where === undefined) throw new Error(`plugin ${plugin.id} has no scope`);
    this.plugins.set(plugin.id, { scope: where, plugin: stored });
    this.remember(stored);
    return structuredClone(stored);
  }

  delete(id: string): boolean {
    return this.plugins.delete(id);
  }

  /** Every secret ever stored, for the secret scanner. */
  secrets(): string[] {
    return [...this.everStored];
  }

  private remember(p: KongPlugin): void {
    for (const s of p.config.client_secret ?? []) this.everStored.add(s);
  }
}
