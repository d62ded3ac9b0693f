import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PREREQUISITES, dotnetRestore } from "../../scripts/infra/bicep.js";

/** Issue 21: the README names what a machine needs, and a missing one fails with that sentence. */
describe("what a fresh machine needs before the two commands", () => {
  it("the README says it above the two commands, in the words a missing prerequisite is reported with", () => {
    const readme = readFileSync("README.md", "utf8");
    const section = readme.slice(readme.indexOf("## The two commands"));
    expect(section.indexOf(PREREQUISITES)).toBeGreaterThan(0);
    expect(section.indexOf(PREREQUISITES)).toBeLessThan(section.indexOf("npm ci && npm run demo"));
  });

  it("without the .NET SDK the infra build fails with that sentence (it never skips)", async () => {
    await expect(dotnetRestore("/nonexistent/dotnet")).rejects.toThrow(`/nonexistent/dotnet is not on PATH. ${PREREQUISITES}`);
  });
});
