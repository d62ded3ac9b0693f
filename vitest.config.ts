import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts", "emulators/**/*.test.ts"],
    globalSetup: ["tests/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Test files run one after another in the same worker and share its module cache: importing
    // src/, the SDKs and the emulators once instead of once per file saves about a minute of
    // npm test on 2 cores. Nothing in src/ keeps state in a module beyond injected clients; the
    // tests that need a module's import-time effects again (the function registrations) call
    // vi.resetModules() first.
    isolate: false,
    reporters: ["default", "json"],
    outputFile: { json: ".vitest-results.json" },
  },
});
