// Moved to src/handlers/health.ts. This re-export exists only because tests/harness/chaos/simulator.ts
// still imports the old path and was out of bounds for the rename; point its import at
// src/handlers/health.js and delete this file (and src/api/) with it.
export * from "../handlers/health.js";
