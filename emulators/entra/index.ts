export { EntraEmulator, type SeededApplication } from "./emulator.js";
export { GRAPH_APP_ID } from "./state.js";
export { OPERATOR_GRAPH_ROLES, startEntraFixture, type EntraFixture } from "./fixture.js";
