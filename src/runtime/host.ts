import type { BuiltRuntime } from "./createRuntime.js";

let cached: Promise<BuiltRuntime> | undefined;

/**
 * The host-wide runtime, built from process.env on first use. The composition root (every Azure
 * SDK client) is loaded with import() at that first use, not when the host loads the functions
 * entry: registering the functions stays cheap, and esbuild puts the SDKs in a chunk of their own.
 * A configuration error fails every invocation with the one message that lists every bad field,
 * and the next invocation tries again.
 */
export const runtimeFromEnv = (): Promise<BuiltRuntime> => {
  cached ??= import("./fromSettings.js").then((m) => m.createRuntimeFromEnv(process.env));
  cached.catch(() => {
    cached = undefined;
  });
  return cached;
};

/**
 * A handler whose module is imported on its first invocation (then kept). The functions entry
 * only registers triggers; each trigger's code, with zod, the Storage SDK and the rest, loads when
 * that trigger first fires (`npm run bench -- coldstart` measures both parts).
 */
export function lazyHandler<A extends unknown[], R>(load: () => Promise<(...args: A) => Promise<R>>): (...args: A) => Promise<R> {
  let handler: Promise<(...args: A) => Promise<R>> | undefined;
  return async (...args: A) => {
    handler ??= load();
    handler.catch(() => {
      handler = undefined;
    });
    return (await handler)(...args);
  };
}
