/**
 * A stand-in for the Azure Functions Node.js worker, just enough to drive a functions entry the way
 * the host does, in this process: it answers require("@azure/functions-core") the way the worker
 * does (by patching Module.prototype.require), imports the entry, records what the entry registers,
 * then runs HTTP invocations through the programming model the entry's @azure/functions set —
 * getInvocationModel → getArguments (the HttpRequest built from the RPC request) → invokeFunction →
 * getResponse (the handler's answer converted to the RPC response). The worker's own wire format
 * (gRPC) is out of scope; the objects passed in and out are the ones the worker passes.
 *
 *   tsx tests/helpers/functionsWorker.ts <entry file> '<JSON array of WorkerHttpInvocation>'
 *
 * prints one JSON line: WorkerReport.
 */
import Module from "node:module";
import { pathToFileURL } from "node:url";

export interface WorkerHttpInvocation {
  function: string;
  /** RPC http request data as the worker passes it (method, url, headers, body {string} or {bytes}). */
  http: {
    method: string;
    url: string;
    headers?: Record<string, string>;
    query?: Record<string, string>;
    params?: Record<string, string>;
    body?: { string?: string; bytes?: number[] };
  };
}

export interface WorkerReport {
  programmingModel: { name: string; version: string } | undefined;
  registered: Record<string, { bindings: Record<string, { type: string; direction: string }> }>;
  responses: { statusCode: string; headers: Record<string, string>; cookies: unknown[]; body: string }[];
}

interface CoreInvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(context: unknown, inputs: unknown[], handler: unknown): Promise<unknown>;
  getResponse(
    context: unknown,
    result: unknown,
  ): Promise<{
    returnValue?: { http?: { statusCode: string; headers: Record<string, string>; cookies: unknown[]; body?: { bytes?: Uint8Array; string?: string } } };
  }>;
}
interface CoreProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(coreCtx: unknown): CoreInvocationModel;
}
interface Registration {
  metadata: { name: string; bindings: Record<string, { type: string; direction: string }> };
  callback: unknown;
}

async function runWorker(entry: string, invocations: WorkerHttpInvocation[]): Promise<WorkerReport> {
  let model: CoreProgrammingModel | undefined;
  const registrations = new Map<string, Registration>();
  const core = {
    version: "4.0.0-test",
    hostVersion: "4.0.0-test",
    setProgrammingModel: (m: CoreProgrammingModel) => void (model = m),
    getProgrammingModel: () => model,
    registerFunction: (metadata: Registration["metadata"], callback: unknown) => {
      registrations.set(metadata.name, { metadata, callback });
      return { dispose: () => undefined };
    },
    registerHook: () => ({ dispose: () => undefined }),
    log: () => undefined,
  };
  const original = Module.prototype.require;
  Module.prototype.require = new Proxy(original, {
    apply: (target, self, args: [string]) => (args[0] === "@azure/functions-core" ? core : Reflect.apply(target, self, args)),
  });
  await import(pathToFileURL(entry).href);

  const responses: WorkerReport["responses"] = [];
  for (const [i, invocation] of invocations.entries()) {
    const registration = registrations.get(invocation.function);
    if (!registration || !model) throw new Error(`the entry registered no function "${invocation.function}"`);
    const bindings = registration.metadata.bindings;
    const trigger = Object.entries(bindings).find(([, b]) => b.type === "httpTrigger")?.[0];
    if (!trigger) throw new Error(`"${invocation.function}" has no httpTrigger binding`);
    const coreCtx = {
      invocationId: `invocation-${i}`,
      metadata: { name: invocation.function, bindings },
      request: { inputData: [{ name: trigger, data: { http: invocation.http } }], triggerMetadata: {} },
      log: () => undefined,
    };
    const invocationModel = model.getInvocationModel(coreCtx);
    const { context, inputs } = await invocationModel.getArguments();
    const result = await invocationModel.invokeFunction(context, inputs, registration.callback);
    const http = (await invocationModel.getResponse(context, result)).returnValue?.http;
    if (!http) throw new Error(`"${invocation.function}" returned no HTTP response`);
    const body = http.body?.bytes ? Buffer.from(http.body.bytes).toString("utf8") : (http.body?.string ?? "");
    responses.push({ statusCode: http.statusCode, headers: http.headers, cookies: http.cookies, body });
  }
  const registered = Object.fromEntries([...registrations].map(([name, r]) => [name, { bindings: r.metadata.bindings }]));
  return { programmingModel: model && { name: model.name, version: model.version }, registered, responses };
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const [entry, invocations] = process.argv.slice(2);
  if (!entry) throw new Error("usage: functionsWorker.ts <entry> '<invocations JSON>'");
  const report = await runWorker(entry, JSON.parse(invocations ?? "[]") as WorkerHttpInvocation[]);
  console.log(JSON.stringify(report));
}
