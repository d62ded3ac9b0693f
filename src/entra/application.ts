import type { CredentialSet } from "../config/schema.js";
import type { AppRegistration, CallOptions, GraphApplicationsApi } from "./types.js";

/**
 * A set's app registration: by its object ID when configured (one direct read), else by client ID.
 * Every rotation step, reconcile path and probe reads the app through this, so they cannot
 * disagree on which registration a set means.
 */
export function getSetApplication(
  graph: Pick<GraphApplicationsApi, "getApplication">,
  set: Pick<CredentialSet, "clientId" | "applicationObjectId">,
  options: CallOptions = {},
): Promise<AppRegistration> {
  return graph.getApplication({ appId: set.clientId, ...(set.applicationObjectId ? { objectId: set.applicationObjectId } : {}) }, options);
}
