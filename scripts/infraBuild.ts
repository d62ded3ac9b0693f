/**
 * `npm run infra:build` — compiles and lints infra/main.bicep with the Bicep CLI fetched from NuGet
 * (infra/tools/bicep.csproj) and fails on any error or warning. The ARM template lands in
 * infra/.build/main.json (not committed); tests/infra reads it.
 */
import path from "node:path";
import { ROOT, buildInfra } from "./infra/bicep.js";

const result = await buildInfra();
const errors = result.diagnostics.filter((d) => d.level === "Error").length;
const warnings = result.diagnostics.filter((d) => d.level === "Warning").length;
for (const d of result.diagnostics) console.log(`${d.file}:${d.line}: ${d.level} ${d.code}: ${d.message}`);
if (!result.ok && result.diagnostics.length === 0) console.log(result.output);
console.log(`bicep ${result.version}: ${path.relative(ROOT, result.template)} — ${errors} error(s), ${warnings} warning(s)`);
process.exitCode = result.ok ? 0 : 1;
