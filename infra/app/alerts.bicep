// Azure Monitor alerts on the platform side: they tell on-call when the rotator itself is failing
// or has stopped, which the rotator's own alert channels cannot do. Log search alerts on the
// Application Insights component (requests/exceptions schema); every Functions invocation is a
// row in `requests` (name = function name), and host.json keeps requests and exceptions out of
// sampling.

@description('Prefix of the alert rule names (the Function App name).')
param namePrefix string

param location string = resourceGroup().location
param tags object = {}

@description('Resource ID of the Application Insights component.')
param applicationInsightsId string

param actionGroupName string

@description('E-mail receiver. Empty: no action group; the alerts still show in the portal.')
param alertEmail string = ''

@description('Window of the "no rotationTimer execution" rule (ISO 8601, at most P2D).')
param rotationTimerSilenceWindow string = 'P2D'

resource actionGroup 'Microsoft.Insights/actionGroups@2022-04-01' = if (!empty(alertEmail)) {
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

var actionGroupIds = empty(alertEmail) ? [] : [
  actionGroup.id
]

// A rotation pass failed. The worker rethrows transient failures so the queue retries them, so a
// single failure can heal on the next delivery; repeated ones mean rotation is stuck (the app
// also opens an incident on the last delivery).
resource rotationWorkerFailures 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-rotation-worker-failures'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'mcp-sso-rotator: rotationWorker invocations failed'
    description: 'At least one rotationWorker invocation failed in the last 15 minutes. Read the run journal (GET /api/rotations/{runId}) and the exception in Application Insights; the message goes to the poison queue after the last delivery.'
    severity: 1
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: '''
requests
| where operation_Name == "rotationWorker" and success == false
'''
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

// Any exception anywhere in the app (configuration errors at start-up included: a bad
// credential-set file fails every invocation with one exception listing every bad field).
resource exceptionsLogged 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-exceptions'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'mcp-sso-rotator: exceptions'
    description: 'The Function App logged exceptions in the last 15 minutes. Open Application Insights > Failures; configuration errors name every bad field with its fix.'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: '''
exceptions
'''
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

// The dead man's switch on the Azure side: the daily rotation timer has not run at all. Count
// over zero rows is 0, so "fewer than 1" fires when the table has no matching row in the window.
resource rotationTimerSilent 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-rotation-timer-silent'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'mcp-sso-rotator: no rotationTimer execution'
    description: 'rotationTimer has not executed within the window. Check that the Function App is running, that ROTATION_SCHEDULE is valid, and the exceptions alert. Right after the first deployment this can fire until the first scheduled run.'
    severity: 1
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT1H'
    windowSize: rotationTimerSilenceWindow
    criteria: {
      allOf: [
        {
          query: '''
requests
| where operation_Name == "rotationTimer"
'''
          timeAggregation: 'Count'
          operator: 'LessThan'
          threshold: 1
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

output actionGroupId string = empty(alertEmail) ? '' : actionGroup.id
output alertRuleIds array = [
  rotationWorkerFailures.id
  exceptionsLogged.id
  rotationTimerSilent.id
]
