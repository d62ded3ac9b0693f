import { randomUUID } from "node:crypto";
import { KongPluginsEmulator, type KongEmulatorBaseOptions } from "./emulator.js";
import { headerMatches, type KongSurface } from "./routes.js";
import type { KongPlugin, SeedPluginInput } from "./state.js";

/**
 * The Konnect control-plane config API for `openid-connect` plugins (../shared/specs/kong-openid-connect.md
 * § Konnect equivalent): `/v2/control-planes/{controlPlaneId}/core-entities/plugins…`, a Bearer
 * personal-access or system-account token, the same `{data, next, offset}` paging, and no PATCH:
 * a write is a full PUT (upsert) of the entity, so a field left out takes its default.
 */
export interface KonnectEmulatorOptions extends KongEmulatorBaseOptions {
  /** The one token Konnect accepts (a personal access token or a system-account token). */
  accessToken: string;
  /** The control planes of the organisation; default one random ID. */
  controlPlaneIds?: string[];
}

export class KonnectEmulator extends KongPluginsEmulator {
  readonly controlPlaneIds: string[];

  constructor(private readonly options: KonnectEmulatorOptions) {
    const controlPlanes = options.controlPlaneIds ?? [randomUUID()];
    super("konnect", options, (denied) => {
      const surface: KongSurface = {
        prefix: "/v2/control-planes/([^/]+)/core-entities",
        scopeOf: (cp) => (cp !== undefined && controlPlanes.includes(cp) ? cp : undefined),
        // Guess (README): the spec gives Konnect's 401 only; 403, 404 and 405 take the same {message, status} shape.
        unknownScope: { status: 404, body: { message: "Not Found", status: 404 } },
        nextPrefix: (cp) => `/v2/control-planes/${cp}/core-entities`,
        authorize: (req, scope) => {
          // § Konnect equivalent: `Authorization: Bearer <token>`; 401 {"message":"Unauthorized","status":401}.
          if (!headerMatches(req, "authorization", `Bearer ${options.accessToken}`)) return { status: 401, body: { message: "Unauthorized", status: 401 } };
          if (scope !== undefined && denied(scope)) return { status: 403, body: { message: "Forbidden", status: 403 } };
          return undefined;
        },
        // § Konnect equivalent: "No PATCH is defined in this spec for plugins".
        patch: false,
        patchRefused: { status: 405, body: { message: "Method Not Allowed", status: 405 } },
      };
      return [surface];
    });
    this.controlPlaneIds = controlPlanes;
  }

  /** A plugin on the first control plane, or on `controlPlaneId`. */
  seedPlugin(input: SeedPluginInput & { controlPlaneId?: string }): KongPlugin {
    return this.state.seed(input, input.controlPlaneId ?? this.controlPlaneIds[0]!);
  }

  /** The token's user or system account loses (or regains) its role on a control plane: calls there answer 403. */
  denyControlPlane(controlPlaneId: string, on = true): void {
    this.deny(controlPlaneId, on);
  }

  protected tokens(): string[] {
    return [this.options.accessToken];
  }
}
