// Azure Monitor alerts on the platform side: they tell on-call when the rotator itself is failing
// or has stopped, which the rotator's own alert channels cannot do. Log search alerts on the
// Application Insights component. Four read the rotator's custom metrics (src/telemetry/names.ts:
// OpenTelemetry metrics land in the customMetrics table with their attributes in
// customDimensions); two read the Functions invocations (requests, exceptions), which host.json
// keeps out of sampling. Metric names here are checked against src/telemetry by a test.

@description('Prefix of the alert rule names (the Function App name).')
param namePrefix string

param location string = resourceGroup().location
param tags object = {}

@description('Resource ID of the Application Insights component.')
param applicationInsightsId string

param actionGroupName string

@description('E-mail receiver. Empty: no action group; the alerts still show in the portal.')
param alertEmail string = ''

@minValue(1)
@maxValue(24)
@description('Hours between two ROTATION_SCHEDULE runs; the silence rule waits two periods.')
param rotationPeriodHours int = 24

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: actionGroupName
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 'ssorotator' // at most 12 characters; shown in SMS/e-mail
    enabled: true
    emailReceivers: [
      {
        name: 'on-call-email'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

var actionGroupIds = empty(alertEmail) ? [] : [actionGroup.id]

// Look-back of the rules over gauges that only a rotation pass records: two rotation periods (at
// most 48 h, the longest a log search alert looks back), so the latest value stays inside the
// window from one pass to the next and the alert neither resolves nor re-fires in between.
var gaugeWindow = 'PT${2 * rotationPeriodHours}H'

var rules = [
  {
    // Every pass records rotator.rotation.passes with its outcome; a set whose passes all failed,
    // or no pass at all (the timer stopped, the worker crashes before the runner), fires.
    name: 'no-successful-rotation-pass'
    displayName: 'mcp-sso-rotator: no successful rotation pass in two periods'
    description: 'No rotation pass ended succeeded or noop for a set (or no pass ran at all) during two ROTATION_SCHEDULE periods. Check the rotationWorker failures, GET /api/status, and that the Function App is running.'
    severity: 1
    frequency: 'PT1H'
    window: 'PT${2 * rotationPeriodHours}H'
    query: '''
let passes = customMetrics | where name == "rotator.rotation.passes";
passes
| summarize ok = countif(tostring(customDimensions["outcome"]) in ("succeeded", "noop")) by set = tostring(customDimensions["set"])
| where ok == 0
| union (print set = "(no pass at all)", ok = 0 | where toscalar(passes | count) == 0)
'''
  }
  {
    // Recorded at the end of every rotation pass (src/telemetry), so once per ROTATION_SCHEDULE
    // period: days left of the current secret and the set's renewal window. Below the window means
    // a rotation was due and has not completed. The window spans two rotation periods, so the
    // latest value is always inside it while passes run (one missed pass included): with a 6-hour
    // window over a daily gauge, auto-mitigation resolved the alert ~6 h after each pass while the
    // secret was still overdue, and it fired again the next day.
    name: 'days-left-below-renewal-window'
    displayName: 'mcp-sso-rotator: secret inside its renewal window'
    description: 'A set\'s current client secret has fewer days left than its renewal window, so a rotation is overdue. GET /api/status shows the set\'s last run and its error.'
    severity: 2
    frequency: 'PT1H'
    window: gaugeWindow
    query: '''
customMetrics
| where name == "rotator.credential.days_until_expiry"
| summarize arg_max(timestamp, value, customDimensions) by set = tostring(customDimensions["set"])
| where value < todouble(customDimensions["renewal_window_days"])
'''
  }
  {
    // Targets (MCP servers) that do not hold the current Key Vault secret after a pass. Recorded
    // at the end of every pass, like the days left: same window, for the same reason.
    name: 'stale-targets'
    displayName: 'mcp-sso-rotator: targets on a stale secret'
    description: 'After the latest pass, at least one gateway target does not hold the current secret. The run journal (GET /api/rotations/{runId}) names them; the next pass retries.'
    severity: 1
    frequency: 'PT1H'
    window: gaugeWindow
    query: '''
customMetrics
| where name == "rotator.targets.stale"
| summarize arg_max(timestamp, value) by set = tostring(customDimensions["set"])
| where value > 0
'''
  }
  {
    // Health probe results at severity error or critical that failed or could not run.
    name: 'check-failing'
    displayName: 'mcp-sso-rotator: a health check is failing'
    description: 'A health check of a credential set failed at severity error or critical in the last two probe periods. GET /api/status shows the check, its evidence and the operator hint.'
    severity: 1
    frequency: 'PT15M'
    window: 'PT30M'
    query: '''
customMetrics
| where name == "rotator.check.results"
| where tostring(customDimensions["status"]) in ("fail", "error") and tostring(customDimensions["severity"]) in ("error", "critical")
| summarize failures = sum(valueSum) by set = tostring(customDimensions["set"]), check = tostring(customDimensions["check"])
'''
  }
  {
    // The worker rethrows transient failures so the queue retries them; repeated ones mean
    // rotation is stuck (the app also opens an incident on the last delivery).
    name: 'rotation-worker-failures'
    displayName: 'mcp-sso-rotator: rotationWorker invocations failed'
    description: 'At least one rotationWorker invocation failed in the last 15 minutes. Read the run journal (GET /api/rotations/{runId}) and the exception in Application Insights; the message goes to the poison queue after the last delivery.'
    severity: 1
    frequency: 'PT15M'
    window: 'PT15M'
    query: '''
requests
| where operation_Name == "rotationWorker" and success == false
'''
  }
  {
    // Configuration errors at start-up fail every invocation with one exception listing every
    // bad field.
    name: 'exceptions'
    displayName: 'mcp-sso-rotator: exceptions'
    description: 'The Function App logged exceptions in the last 15 minutes. Open Application Insights > Failures; configuration errors name every bad field with its fix.'
    severity: 2
    frequency: 'PT15M'
    window: 'PT15M'
    query: '''
exceptions
'''
  }
]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [
  for rule in rules: {
    name: '${namePrefix}-${rule.name}'
    location: location
    tags: tags
    kind: 'LogAlert'
    properties: {
      displayName: rule.displayName
      description: rule.description
      severity: rule.severity
      enabled: true
      scopes: [
        applicationInsightsId
      ]
      evaluationFrequency: rule.frequency
      windowSize: rule.window
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      autoMitigate: true
      actions: {
        actionGroups: actionGroupIds
      }
    }
  }
]

output actionGroupId string = empty(alertEmail) ? '' : actionGroup.id
output alertRuleNames array = [for (rule, i) in rules: alertRules[i].name]
