import { randomUUID } from "node:crypto";

/**
 * Plugin entities of a Kong Gateway (Enterprise) Admin API, as ../shared/specs/kong-openid-connect.md
 * describes them (§ Plugin object): `created_at`/`updated_at` in unix seconds, `config` a record,
 * no ETag or version field. Only the `openid-connect` config fields that concern the client secret
 * are modelled (§ `openid-connect` config fields); any other config key is a schema violation.
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

interface OidcConfig {
  issuer: string;
  client_id: string[] | null;
  client_secret: string[] | null;
  client_auth: string[] | null;
  auth_methods: string[];
  client_arg: string;
  cache_tokens: boolean;
  cache_ttl: number;
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

export class KongState {
  private readonly plugins = new Map<string, KongPlugin>();
  private readonly everStored = new Set<string>();

  constructor(private readonly nowSeconds: () => number) {}

  seed(input: SeedPluginInput): KongPlugin {
    const at = this.nowSeconds();
    const plugin: KongPlugin = {
      id: randomUUID(),
      name: "openid-connect",
      instance_name: input.instanceName ?? null,
      created_at: at,
      updated_at: at,
      route: null,
      service: input.serviceId ? { id: input.serviceId } : null,
      consumer: null,
      config: {
        issuer: input.issuer,
        client_id: [...input.clientIds],
        client_secret: [...input.clientSecrets],
        client_auth: input.clientAuth ?? null,
        auth_methods: [
          "authorization_code",
          "bearer",
          "client_credentials",
          "introspection",
          "kong_oauth2",
          "password",
          "refresh_token",
          "session",
          "userinfo",
        ],
        client_arg: "client_id",
        cache_tokens: true,
        cache_ttl: 3600,
      },
      protocols: ["grpc", "grpcs", "http", "https"],
      enabled: true,
      tags: input.tags ?? null,
    };
    this.plugins.set(plugin.id, plugin);
    this.remember(plugin);
    return structuredClone(plugin);
  }

  /** In creation order, as the list pages walk them. */
  all(): KongPlugin[] {
    return [...this.plugins.values()].map((p) => structuredClone(p));
  }

  get(id: string): KongPlugin | undefined {
    const p = this.plugins.get(id);
    return p ? structuredClone(p) : undefined;
  }

  /** Stores a validated entity; `updated_at` moves on (§ Concurrency: "updated_at changes on each update"). */
  put(plugin: KongPlugin): KongPlugin {
    const stored = { ...structuredClone(plugin), updated_at: Math.max(this.nowSeconds(), plugin.updated_at + 1) };
    this.plugins.set(plugin.id, stored);
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
