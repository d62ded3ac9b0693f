/**
 * The floor of `npm run bench -- coldstart`: the Azure Functions programming model library alone,
 * bundled exactly like functions/index.ts. Any v4 entry imports it to register its functions at
 * import time (`app.timer`, `app.http`, …); on import it loads Node's http, net and crypto modules
 * and, outside the host, looks for @azure/functions-core and warns. Our entry cannot load faster
 * than this; the bench reports both so the part that is ours can be seen.
 */
import "@azure/functions";
