import { defineConfig } from "vitest/config";
import LongestFirstSequencer from "./tests/sequencer.js";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts", "emulators/**/*.test.ts"],
    globalSetup: ["tests/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Two workers on the 2-core machines we run on (vitest's default is cores − 1 = 1): most test
    // time is spent waiting on loopback HTTP and timers, not computing.
    maxWorkers: 2,
    // Test files run one after another in the same worker and share its module cache: importing
    // src/, the SDKs and the emulators once instead of once per file saves about a minute of
    // npm test on 2 cores. Nothing in src/ keeps state in a module beyond injected clients; the
    // tests that need a module's import-time effects again (the function registrations) call
    // vi.resetModules() first.
    isolate: false,
    // Longest files first from tests/durations.json (npm run test:slowest -- --write refreshes it).
    sequence: { sequencer: LongestFirstSequencer },
    reporters: ["default", "json"],
    outputFile: { json: ".vitest-results.json" },
  },
});
