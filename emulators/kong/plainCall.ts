import { afterAll, beforeAll, beforeEach } from "vitest";

/** One call to a Kong emulator over plain HTTP with Node's fetch, for the fidelity tests: status, headers and the JSON body. */
export async function plainJsonCall(baseUrl: string, method: string, path: string, body: unknown, headers: Record<string, string>) {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

/** A Kong or Konnect emulator for one fidelity test file: started before its tests, reset before each, closed after all. */
export function useFidelityEmulator<T extends { start(): Promise<unknown>; close(): Promise<unknown> | void; reset(): void }>(emulator: T): T {
  beforeAll(() => emulator.start());
  beforeEach(() => emulator.reset());
  afterAll(() => emulator.close());
  return emulator;
}
