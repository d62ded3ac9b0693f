import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ERROR_CODES, errorCodeInfo } from "../src/errorCodes.js";
import { RotatorError } from "../src/errors.js";
import { GatewayErrorCode } from "../src/gateway/errors.js";

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

const files = sourceFiles("src").filter((f) => f !== path.join("src", "errorCodes.ts"));
const source = files.map((f) => readFileSync(f, "utf8")).join("\n");

// Every way src/ names a code: a thrown error, a normaliser's fallback, a `code:` field, an HTTP
// answer, an alert delivery failure.
const CODE_SITES = [
  /new \w*Error\(\s*"([A-Z][A-Z0-9_]+)"/g,
  /super\(\s*"([A-Z][A-Z0-9_]+)"/g,
  /ensureRotatorError\([^()]*,\s*"([A-Z][A-Z0-9_]+)"\)/g,
  /\bcode: "([A-Z][A-Z0-9_]+)"/g,
  /errorResponse\(\s*\d+,\s*"([A-Z][A-Z0-9_]+)"/g,
  /failure\(\w+, "([A-Z][A-Z0-9_]+)"/g,
  /(?:code|Error\()[^\n]*\? "([A-Z]+_[A-Z0-9_]+)" : "([A-Z]+_[A-Z0-9_]+)"/g,
];

describe("one error-code registry", () => {
  it("every code src/ raises is in the registry, with an HTTP status, retryability and a severity", () => {
    const used = new Set<string>(Object.values(GatewayErrorCode));
    for (const re of CODE_SITES) for (const m of source.matchAll(re)) for (const c of m.slice(1)) if (c) used.add(c);
    expect(used.size).toBeGreaterThan(80);
    const missing = [...used].filter((c) => !Object.hasOwn(ERROR_CODES, c) && !/^(?:EAI|E[A-Z]+)$/.test(c));
    expect(missing).toEqual([]);
  });

  it("every registered code is raised somewhere in src/ (no dead entries)", () => {
    const dead = Object.keys(ERROR_CODES).filter((c) => !source.includes(`"${c}"`) && !Object.values(GatewayErrorCode).includes(c as GatewayErrorCode));
    expect(dead).toEqual([]);
  });

  it("a RotatorError is retryable by its code unless the thrower says otherwise", () => {
    expect(new RotatorError("VAULT_THROTTLED", "m", { hint: "h" }).retryable).toBe(true);
    expect(new RotatorError("VAULT_FORBIDDEN", "m", { hint: "h" }).retryable).toBe(false);
    expect(new RotatorError("VAULT_THROTTLED", "m", { hint: "h", retryable: false }).retryable).toBe(false);
  });

  it("the HTTP status comes from the registry: a policy refusal is 422, a run in progress 409, HTTP_<status> an upstream failure", () => {
    expect(errorCodeInfo("POLICY_BLOCKS_PASSWORD_ADDITION").httpStatus).toBe(422);
    expect(errorCodeInfo("GRAPH_POLICY_LIFETIME").httpStatus).toBe(422);
    expect(errorCodeInfo("ROTATION_IN_PROGRESS").httpStatus).toBe(409);
    expect(errorCodeInfo("HTTP_418")).toMatchObject({ httpStatus: 502, retryable: false });
  });
});
