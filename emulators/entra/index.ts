export { EntraEmulator, type EntraEmulatorOptions, type SeededApplication, type SeededServicePrincipal } from "./emulator.js";
export { GRAPH_APP_ID, GRAPH_RESOURCE, DEFAULT_REQUIRED_SCOPES, type AccessTokenInfo, type CreatedPassword, type SeedApplicationInput, type SeedPasswordInput, type SeedServicePrincipalInput, type Tenant } from "./state.js";
export { OPERATOR_GRAPH_ROLES, startEntraFixture, type EntraFixture, type EntraFixtureOptions } from "./fixture.js";
export type { ReplicationSettings } from "./replication.js";
