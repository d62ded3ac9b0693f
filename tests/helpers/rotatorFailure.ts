import { expect } from "vitest";
import { RotatorError } from "../../src/errors.js";
import type { Logger } from "../../src/logging.js";

/**
 * For tests of calls that must fail with a RotatorError: the returned function awaits the call and
 * returns its error. Each error is kept in `outputs` for the test's secret scan and, given a
 * logger, logged the way the engine logs it, so the scan reads that line too.
 */
export function rotatorFailure(outputs: unknown[], logger?: Logger): (call: Promise<unknown>) => Promise<RotatorError> {
  return async (call) => {
    const e = await call.then(
      () => {
        throw new Error("expected the call to fail");
      },
      (err: unknown) => err,
    );
    outputs.push(e);
    expect(e).toBeInstanceOf(RotatorError);
    const r = e as RotatorError;
    logger?.error(`${r.code}: ${r.message} (${r.hint})`);
    return r;
  };
}

/** Wraps calls whose errors the test's secret scan must read: a rejection is kept in `outputs`, then rethrown. */
export function errorTracker(outputs: unknown[]): <T>(call: Promise<T>) => Promise<T> {
  return async (call) => {
    try {
      return await call;
    } catch (e) {
      outputs.push(e);
      throw e;
    }
  };
}
