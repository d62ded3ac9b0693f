export { GatewayEmulator, type GatewayEmulatorOptions } from "./emulator.js";
export { type EmulatedServer, type SeedServerInput, type ServerEdit, type PublicServer } from "./state.js";
export { type RateLimitOptions } from "./rateLimit.js";
export { TENANT_HEADER, MAX_SECRET_LENGTH, DEFAULT_PAGE_SIZE, etagMatches } from "./routes.js";
export { checkClientCredentials, DEFAULT_TEST_SCOPE, type TokenCheckResult } from "./tokenCheck.js";
export { startGatewayFixture, type GatewayFixture, type GatewayFixtureOptions, type RawCallOptions, type RawResponse } from "./fixture.js";
