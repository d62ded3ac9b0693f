/**
 * What a Functions Node.js worker has already done when it imports an app's entry point, replayed
 * in a bench process before the timed import so that both builds are measured in the state the
 * host imports them in, not in a bare `node` that pays for things the worker paid long before.
 *
 * 1. The worker answers `require("@azure/functions-core")` by wrapping Module.prototype.require
 *    (azure-functions-nodejs-worker, src/setupCoreModule.ts). Without it, @azure/functions fails a
 *    module resolution on the first registration and prints two "test mode" warnings per function
 *    (dist/azure-functions.js, tryGetCoreApiLazy and the `generic` registration path), work the
 *    host never does.
 * 2. The worker talks to the host over gRPC (@grpc/grpc-js, src/GrpcClient.ts), so Node's network
 *    and crypto built-ins are loaded before any app code runs. The list below is what
 *    `require("@grpc/grpc-js")` 1.14 loads (Node 22, read from `process.moduleLoadList` before and
 *    after); @azure/functions itself needs a subset (crypto, events, http, net, url, util).
 *
 * The preamble runs outside the timed region and is the same for every build measured, so it can
 * only remove a cost both sides paid; whatever our own code or its packages load beyond it is
 * still counted.
 */
export const WORKER_PRELOADED_BUILTINS = [
  "assert",
  "crypto",
  "diagnostics_channel",
  "dns",
  "events",
  "http",
  "http2",
  "net",
  "os",
  "path",
  "stream",
  "stream/promises",
  "string_decoder",
  "tls",
  "url",
  "util",
  "zlib",
] as const;

/**
 * ES module source (for `node --input-type=module -e`) that puts the process in the worker's state.
 * The stand-in core API counts registrations on `globalThis.__functionsCore.registered`.
 */
export function workerPreambleSource(): string {
  return [
    `import Module from "node:module";`,
    ...WORKER_PRELOADED_BUILTINS.map((m, i) => `import * as __b${i} from "node:${m}";`),
    `const __core = {`,
    `  version: "4.0.0-bench", hostVersion: "4.0.0-bench",`,
    `  setProgrammingModel() {}, getProgrammingModel() { return undefined; },`,
    `  registered: 0,`,
    `  registerFunction() { __core.registered++; return { dispose() {} }; }, registerHook() { return { dispose() {} }; }, log() {},`,
    `};`,
    `Module.prototype.require = new Proxy(Module.prototype.require, {`,
    `  apply: (target, self, args) => (args[0] === "@azure/functions-core" ? __core : Reflect.apply(target, self, args)),`,
    `});`,
    `globalThis.__functionsCore = __core;`,
  ].join("\n");
}
