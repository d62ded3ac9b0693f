/**
 * The floor of `npm run bench -- coldstart`: the Azure Functions programming model library alone,
 * bundled exactly like functions/index.ts. Any v4 entry imports it to register its functions at
 * import time (`app.timer`, `app.http`, …). On import it loads Node's http, net and crypto modules
 * and, outside the host, looks for @azure/functions-core and warns; in the worker's state the bench
 * times it in (bench/hostPreamble.ts) neither costs anything, in the bare figures both do. Our
 * entry cannot load faster than this; the bench reports both so the part that is ours can be seen.
 */
import "@azure/functions";
