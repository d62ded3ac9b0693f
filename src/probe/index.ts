export { runProbe, type RunProbeOptions } from "./runProbe.js";
export { ProbeResultStore } from "./store.js";
export { diagnose, rowFor, codesOf, TROUBLESHOOTING_ROWS, type TroubleshootingHit, type TroubleshootingRow } from "./troubleshooting.js";
export {
  CHECK_IDS,
  isBlocking,
  reportOk,
  type CheckId,
  type CheckResult,
  type CheckSeverity,
  type CheckStatus,
  type Evidence,
  type EvidenceValue,
  type ProbeReport,
} from "./model.js";
export { DEFAULT_TUNING, type ProbeDeps, type ProbeTuning } from "./context.js";
export { ALL_CHECKS } from "./checks/index.js";
