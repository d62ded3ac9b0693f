/**
 * The one entry the Functions host loads (package.json "main"): every function's registration.
 * esbuild bundles it into dist/main.js (scripts/build.ts), so the deployed package needs no
 * node_modules.
 */
import "./rotationTimer.js";
import "./rotationWorker.js";
import "./rotationsApi.js";
import "./healthTimer.js";
import "./healthApi.js";
import "./keyVaultEvents.js";
import "./dashboard.js";
