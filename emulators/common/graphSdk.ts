import type { TokenCredential } from "@azure/identity";
import { Client, GraphError, MiddlewareFactory, type Context, type Middleware } from "@microsoft/microsoft-graph-client";
import { TokenCredentialAuthenticationProvider } from "@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js";
import { httpsFetch, type HttpsFetchInit } from "./httpsFetch.js";

/**
 * The real Microsoft Graph JS SDK for the emulators' fidelity tests, with its default middleware
 * chain (authentication, retry, redirect, telemetry). Only the last link, which would call the
 * global fetch, sends with httpsFetch so the emulators' CA is trusted without an npm undici
 * dispatcher.
 */
export function graphSdkClient(options: { baseUrl: string; credential: TokenCredential; scopes: string[]; ca: string | Buffer }): Client {
  const chain = MiddlewareFactory.getDefaultMiddlewareChain(new TokenCredentialAuthenticationProvider(options.credential, { scopes: options.scopes }));
  const send = httpsFetch(options.ca);
  const network: Middleware = {
    execute: async (context: Context) => {
      // RequestInfo is a DOM type this project does not load; the SDK passes a URL string or a Request.
      const request = typeof context.request === "string" ? context.request : (context.request as unknown as { url: string }).url;
      context.response = await send(request, context.options as HttpsFetchInit);
    },
  };
  chain[chain.length - 1] = network;
  return Client.initWithMiddleware({ baseUrl: options.baseUrl, customHosts: new Set([new URL(options.baseUrl).hostname]), middleware: chain });
}

/**
 * For the fidelity tests: awaits a Graph call that must fail and returns its GraphError. Every
 * error, expected or not, is kept in `seen` so the test's secret scan reads it too.
 */
export function graphErrorCatcher(seen: unknown[]): (call: Promise<unknown>) => Promise<GraphError> {
  return async (call) => {
    try {
      await call;
    } catch (e) {
      seen.push(e);
      if (e instanceof GraphError) return e;
      throw e;
    }
    throw new Error("the Graph call unexpectedly succeeded");
  };
}
