export { runProbe } from "./runProbe.js";
export { diagnose } from "./troubleshooting.js";
export { CHECK_IDS, type CheckResult, type ProbeReport } from "./model.js";
