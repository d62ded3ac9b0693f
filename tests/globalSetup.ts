import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { startAzurite } from "../emulators/azurite.js";

declare module "vitest" {
  export interface ProvidedContext {
    storageConnectionString: string;
  }
}

/** One real Azurite for the whole test run, on free ports, in a throw-away folder. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const location = mkdtempSync(path.join(os.tmpdir(), "rotator-azurite-"));
  const azurite = await startAzurite({ location });
  project.provide("storageConnectionString", azurite.connectionString);
  return async () => {
    await azurite.stop();
    rmSync(location, { recursive: true, force: true });
  };
}
