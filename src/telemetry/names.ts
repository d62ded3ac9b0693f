/**
 * Metric, span and attribute names. infra/app/alerts.bicep queries the metrics by these names in
 * Application Insights (customMetrics, attributes in customDimensions); tests/infra checks that
 * every name a rule uses is defined here.
 */
export const METRICS = {
  /** Gauge, days: the current secret's remaining life, per set. Attributes: set, renewal_window_days. */
  daysUntilExpiry: "rotator.credential.days_until_expiry",
  /** Counter: one per rotation pass. Attributes: set, mode, outcome (succeeded|noop|waiting|failed|awaiting_confirmation). */
  rotationPasses: "rotator.rotation.passes",
  /** Histogram, ms: a run's duration from creation to its end. Attributes: set, mode, outcome. */
  rotationDuration: "rotator.rotation.duration",
  /** Counter: targets updated on the gateway, counted once per run when it ends. Attributes: set. */
  targetsUpdated: "rotator.targets.updated",
  /** Gauge: targets whose last update or verification failed, after each pass. Attributes: set. */
  targetsFailed: "rotator.targets.failed",
  /** Gauge: targets not verified on the current secret after a pass. Attributes: set. */
  targetsStale: "rotator.targets.stale",
  /** Counter: one per health check result. Attributes: set, check, status, severity. */
  checkResults: "rotator.check.results",
  /** Counter: alert deliveries that failed. Attributes: set, channel, kind, code. */
  alertDeliveryFailures: "rotator.alert.delivery_failures",
} as const;

export const ATTR = {
  set: "set",
  run: "run",
  mode: "mode",
  outcome: "outcome",
  step: "step",
  check: "check",
  status: "status",
  severity: "severity",
  channel: "channel",
  kind: "kind",
  code: "code",
  renewalWindowDays: "renewal_window_days",
  dependency: "dependency.type",
  operation: "operation",
} as const;

export const INSTRUMENTATION_SCOPE = "mcp-sso-rotator";
