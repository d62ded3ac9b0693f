targetScope = 'subscription'

// mcp-sso-rotator on Azure Functions Flex Consumption.
// Layout follows the Azure-Samples Functions azd quickstarts: this file creates the resource group
// and wires modules; standard resources come from Azure Verified Modules (br/public:avm/...).
// What Bicep cannot do (Graph permission, app registration ownership) is in docs/deployment.md,
// with what each optional permission (Application.Read.All, DelegatedPermissionGrant.Read.All,
// AuditLog.Read.All) buys and what the service does without it.

// ---------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; seeds a short unique token used in every resource name.')
param environmentName string

@minLength(1)
@description('Region of every resource. It must offer Flex Consumption: az functionapp list-flexconsumption-locations')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object ID of the user or service principal running azd. It gets Key Vault Secrets Officer on the vault so it can store the client secret, the gateway API token and the alert channel secrets. Empty: no role for the deployer.')
param principalId string = ''

@description('Kind of principal in principalId.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

// Resource names: empty means generated from the abbreviations and the environment token.
param resourceGroupName string = ''
param apiServiceName string = ''
param apiUserAssignedIdentityName string = ''
param appServicePlanName string = ''
param storageAccountName string = ''
param keyVaultName string = ''
param logAnalyticsName string = ''
param applicationInsightsName string = ''
param actionGroupName string = ''

// ---------------------------------------------------------------------------------------------
// App settings (docs/configuration.md). Strings, like the app settings they become; an empty
// value falls back to the app's own default, as the app itself does.
// ---------------------------------------------------------------------------------------------

@description('CREDENTIAL_SETS_FILE: path of the credential-set file inside the deployed package, relative to the app root. Used unless credentialSetsJsonBase64 is set.')
param credentialSetsFile string = 'credential-sets.json'

@description('CREDENTIAL_SETS_JSON, base64-encoded. azd pastes environment values into main.parameters.json as raw text, so JSON (full of quotes) has to travel encoded. When set, it replaces CREDENTIAL_SETS_FILE.')
param credentialSetsJsonBase64 string = ''

@description('ROTATION_SCHEDULE: 6-field NCRONTAB, UTC.')
param rotationSchedule string = '0 0 3 * * *'

@description('HEALTH_SCHEDULE: 6-field NCRONTAB, UTC.')
param healthSchedule string = '0 */15 * * * *'

@description('ROTATION_QUEUE_NAME: the Storage queue between the timer/API and the worker.')
param rotationQueueName string = 'rotation-requests'

@description('ROTATION_MAX_DEQUEUE: delivery attempts before the worker gives up on a message. Keep it at or below host.json extensions.queues.maxDequeueCount (5).')
param rotationMaxDequeue string = '5'

@description('STORAGE_CONTAINER: blob container for leases, run journals and incident state.')
param storageContainerName string = 'mcp-sso-rotator'

@description('PUBLIC_BASE_URL: base URL used in alert links. Empty: https://<function app>.azurewebsites.net')
param publicBaseUrl string = ''

@description('Name of a secret in this deployment\'s Key Vault holding the heartbeat (dead man\'s switch) URL. Empty: no HEARTBEAT_URL. Create the secret before setting this, or the app reports an unresolved Key Vault reference.')
param heartbeatUrlSecretName string = ''

@description('ALERT_REPEAT_MINUTES')
param alertRepeatMinutes string = '240'

@description('ALERT_RESOLVE_AFTER_PROBES')
param alertResolveAfterProbes string = '2'

@description('PROBE_TIMEOUT_MS')
param probeTimeoutMs string = '10000'

@description('AZURE_AUTHORITY_HOST of the rotator\'s own identity, for sovereign clouds only. Empty: not set.')
param azureAuthorityHost string = ''

// ---------------------------------------------------------------------------------------------
// Scale and monitoring
// ---------------------------------------------------------------------------------------------

@description('Flex Consumption instance memory.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Flex Consumption maximum instance count. The set lease already keeps one run per set; this only bounds cost.')
param maximumInstanceCount int = 100

@description('Log Analytics retention in days.')
param logRetentionInDays int = 90

@description('E-mail address that receives the Azure Monitor alerts. Empty: the alert rules are created without an action group (alerts show in the portal only).')
param alertEmail string = ''

@description('How long without a rotationTimer execution before the "timer silent" alert fires (ISO 8601, at most P2D). Keep it longer than the ROTATION_SCHEDULE period.')
param rotationTimerSilenceWindow string = 'P2D'

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}

var functionAppName = !empty(apiServiceName) ? apiServiceName : '${abbrs.webSitesFunctions}rotator-${resourceToken}'
// Flex Consumption reads the deployment package from this container (azd uploads it).
var deploymentStorageContainerName = toLower('app-package-${take(functionAppName, 32)}-${take(uniqueString(functionAppName, resourceToken), 7)}')
var effectiveKeyVaultName = !empty(keyVaultName) ? keyVaultName : '${abbrs.keyVaultVaults}${resourceToken}'

// ---------------------------------------------------------------------------------------------
// App settings
// ---------------------------------------------------------------------------------------------

var credentialSetsJson = empty(credentialSetsJsonBase64) ? '' : base64ToString(credentialSetsJsonBase64)

// Exactly one of CREDENTIAL_SETS_FILE / CREDENTIAL_SETS_JSON may be set (the loader refuses both).
var credentialSetSettings = empty(credentialSetsJson)
  ? {
      CREDENTIAL_SETS_FILE: empty(credentialSetsFile) ? 'credential-sets.json' : credentialSetsFile
    }
  : {
      CREDENTIAL_SETS_JSON: credentialSetsJson
    }

// HEARTBEAT_URL is a secret (whoever holds it can fake the heartbeat): a Key Vault reference,
// resolved by the platform with the user-assigned identity (keyVaultReferenceIdentity).
var heartbeatSettings = empty(heartbeatUrlSecretName)
  ? {}
  : {
      HEARTBEAT_URL: '@Microsoft.KeyVault(VaultName=${effectiveKeyVaultName};SecretName=${heartbeatUrlSecretName})'
    }

var authorityHostSettings = empty(azureAuthorityHost)
  ? {}
  : {
      AZURE_AUTHORITY_HOST: azureAuthorityHost
    }

// EXTRA_CA_FILE is deliberately absent: it exists for the local emulators and the app refuses it
// in Production. AZURE_CLIENT_SECRET is absent too: the rotator signs in with its managed identity.
var rotatorSettings = union(
  credentialSetSettings,
  heartbeatSettings,
  authorityHostSettings,
  {
    // Explicit, so the EXTRA_CA_FILE guard never depends on how the platform signals Azure.
    AZURE_FUNCTIONS_ENVIRONMENT: 'Production'
    // The rotator's identity for Graph and Key Vault: the user-assigned managed identity.
    AZURE_CLIENT_ID: apiUserAssignedIdentity.outputs.clientId
    ROTATION_SCHEDULE: empty(rotationSchedule) ? '0 0 3 * * *' : rotationSchedule
    HEALTH_SCHEDULE: empty(healthSchedule) ? '0 */15 * * * *' : healthSchedule
    ROTATION_QUEUE_NAME: rotationQueueName
    ROTATION_MAX_DEQUEUE: rotationMaxDequeue
    STORAGE_CONTAINER: storageContainerName
    PUBLIC_BASE_URL: !empty(publicBaseUrl) ? publicBaseUrl : 'https://${functionAppName}.azurewebsites.net'
    ALERT_REPEAT_MINUTES: alertRepeatMinutes
    ALERT_RESOLVE_AFTER_PROBES: alertResolveAfterProbes
    PROBE_TIMEOUT_MS: probeTimeoutMs
  }
)

// ---------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------

resource rg 'Microsoft.Resources/resourceGroups@2021-04-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

// One user-assigned identity for everything the app touches: storage (host + rotator state),
// deployment package, Key Vault, Application Insights and Microsoft Graph. User-assigned so the
// one-time Graph grant survives a re-created Function App.
module apiUserAssignedIdentity 'br/public:avm/res/managed-identity/user-assigned-identity:0.4.1' = {
  name: 'apiUserAssignedIdentity'
  scope: rg
  params: {
    name: !empty(apiUserAssignedIdentityName) ? apiUserAssignedIdentityName : '${abbrs.managedIdentityUserAssignedIdentities}rotator-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: !empty(storageAccountName) ? storageAccountName : '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentStorageContainerName
    stateContainerName: storageContainerName
    rotationQueueName: rotationQueueName
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: !empty(logAnalyticsName) ? logAnalyticsName : '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: !empty(applicationInsightsName) ? applicationInsightsName : '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    retentionInDays: logRetentionInDays
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: effectiveKeyVaultName
    location: location
    tags: tags
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

// Role assignments before the app, so its first start does not meet 403s from storage.
module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    identityPrincipalId: apiUserAssignedIdentity.outputs.principalId
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
  }
}

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    location: location
    tags: tags
    appServicePlanName: !empty(appServicePlanName) ? appServicePlanName : '${abbrs.webServerFarms}${resourceToken}'
    storageAccountName: storage.outputs.name
    deploymentStorageContainerName: deploymentStorageContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    identityId: apiUserAssignedIdentity.outputs.resourceId
    identityClientId: apiUserAssignedIdentity.outputs.clientId
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    appSettings: rotatorSettings
  }
  dependsOn: [
    rbac
  ]
}

module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    namePrefix: functionAppName
    location: location
    tags: tags
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    actionGroupName: !empty(actionGroupName) ? actionGroupName : '${abbrs.insightsActionGroups}rotator-${resourceToken}'
    alertEmail: alertEmail
    rotationTimerSilenceWindow: rotationTimerSilenceWindow
  }
}

// ---------------------------------------------------------------------------------------------
// Outputs (azd stores them in .azure/<env>/.env; docs/deployment.md uses them by name)
// ---------------------------------------------------------------------------------------------

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output SERVICE_API_NAME string = api.outputs.SERVICE_API_NAME
output AZURE_FUNCTION_NAME string = api.outputs.SERVICE_API_NAME
output SERVICE_API_URI string = 'https://${api.outputs.SERVICE_API_DEFAULT_HOSTNAME}'
output ROTATOR_IDENTITY_PRINCIPAL_ID string = apiUserAssignedIdentity.outputs.principalId
output ROTATOR_IDENTITY_CLIENT_ID string = apiUserAssignedIdentity.outputs.clientId
output ROTATOR_IDENTITY_NAME string = apiUserAssignedIdentity.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_ENDPOINT string = keyVault.outputs.uri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.applicationInsightsConnectionString
