import type { EntraFixture } from "../../emulators/entra/index.js";
import { createGraphApplicationsApi, type GraphApplicationsApiOptions } from "../../src/entra/graph.js";
import type { GraphApplicationsApi } from "../../src/entra/types.js";
import { HttpClient, type HttpClientOptions } from "../../src/http/client.js";

/**
 * The product's Graph client signed in as the rotator identity against the fixture's emulator. The
 * HTTP layer does not retry unless `retry` says so, so a test sees each refusal the emulator makes;
 * one redactor, when given, serves both the HTTP layer and the Graph client as in production.
 */
export function operatorGraph(
  fx: EntraFixture,
  options: Omit<GraphApplicationsApiOptions, "credential" | "graphBaseUrl" | "http"> & { retry?: HttpClientOptions["retry"] } = {},
): GraphApplicationsApi {
  const { retry = { maxRetries: 0 }, ...graphOptions } = options;
  const redactor = graphOptions.redactor ? { redactor: graphOptions.redactor } : {};
  return createGraphApplicationsApi({
    credential: fx.operatorCredential(),
    graphBaseUrl: fx.url,
    http: new HttpClient({ ca: fx.emulator.caCertPem, retry, ...redactor }),
    ...graphOptions,
  });
}
