import type { AccessTokenInfo, StoredApplication } from "./state.js";

/**
 * Who may read and change an application through Graph, from the caller's token `roles` (its
 * application permissions) and the app's owners. From Microsoft Learn, "application: addPassword"
 * (https://learn.microsoft.com/graph/api/application-addpassword) and the Microsoft Graph
 * permissions reference (https://learn.microsoft.com/graph/permissions-reference):
 * - Application.ReadWrite.OwnedBy lets an app manage (read, update, update secrets of) only the
 *   applications whose owners include its service principal;
 * - Application.ReadWrite.All (or Directory.ReadWrite.All) manages every application;
 * - Application.Read.All (or Directory.Read.All) reads every application.
 * Anything else is 403 Authorization_RequestDenied "Insufficient privileges to complete the operation."
 */
export type ApplicationAccess = "read" | "write";

const WRITE_ALL = ["Application.ReadWrite.All", "Directory.ReadWrite.All"];
const READ_ALL = [...WRITE_ALL, "Application.Read.All", "Directory.Read.All"];
const OWNED_BY = "Application.ReadWrite.OwnedBy";

export const INSUFFICIENT_PRIVILEGES = "Insufficient privileges to complete the operation.";

function has(caller: AccessTokenInfo, roles: readonly string[]): boolean {
  return caller.roles.some((r) => roles.includes(r));
}

/** Can the caller do `access` on this app? */
export function mayAccessApplication(caller: AccessTokenInfo, app: StoredApplication, access: ApplicationAccess): boolean {
  if (has(caller, access === "write" ? WRITE_ALL : READ_ALL)) return true;
  return caller.roles.includes(OWNED_BY) && app.owners.includes(caller.objectId.toLowerCase());
}

/**
 * How much of the applications collection the caller may list: all of it, only the apps it owns
 * (Application.ReadWrite.OwnedBy alone), or nothing (403). Learn documents OwnedBy as scoped to
 * owned apps; a community report says a live tenant listed every app — not confirmed either way.
 */
export function applicationListScope(caller: AccessTokenInfo): "all" | "owned" | "none" {
  if (has(caller, READ_ALL)) return "all";
  return caller.roles.includes(OWNED_BY) ? "owned" : "none";
}

/** Whether the caller holds any permission on applications at all (no role at all: 403 before any lookup). */
export function hasAnyApplicationPermission(caller: AccessTokenInfo): boolean {
  return applicationListScope(caller) !== "none";
}
