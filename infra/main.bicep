targetScope = 'subscription'

// mcp-sso-rotator on Azure Functions Flex Consumption.
// Layout follows the Azure-Samples Functions azd quickstarts: this file creates the resource group
// and wires the local modules in app/. Every resource is declared here or in app/ (no public
// registry modules: `npm run infra:build` compiles and lints offline with the Bicep CLI from NuGet).
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

@description('Object ID of the user or service principal running azd. It gets Key Vault Secrets Officer on the whole vault so it can store the client secret, the gateway API token and the alert channel secrets. Empty: no role for the deployer.')
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
@description('Key Vault name (azd environment value AZURE_KEY_VAULT_NAME, which provisioning also writes back). Choose it before the first provision to know the vault URL for credential-sets.json. Empty: kv-<token>. A vault deleted by azd down stays soft-deleted for 90 days and keeps its name: the preprovision hook checks (docs/deployment.md, Removing a deployment).')
param keyVaultName string = ''
param logAnalyticsName string = ''
param applicationInsightsName string = ''
param actionGroupName string = ''
param vnetName string = ''


// ---------------------------------------------------------------------------------------------
// App settings (docs/configuration.md). Strings, like the app settings they become; an empty
// value means "not configured" and falls back to the app's own default, as the app itself does.
// ---------------------------------------------------------------------------------------------

@description('CREDENTIAL_SETS_FILE: path of the credential-set file inside the deployed package, relative to the app root. Used unless credentialSetsJsonBase64 is set.')
param credentialSetsFile string = 'credential-sets.json'

@secure()
@description('CREDENTIAL_SETS_JSON, base64-encoded. azd pastes environment values into main.parameters.json as raw text, so JSON (full of quotes) has to travel encoded. When set, it replaces CREDENTIAL_SETS_FILE. Secure: it names vaults and apps, and keeps it out of the deployment history.')
param credentialSetsJsonBase64 string = ''

@description('ROTATION_SCHEDULE: 6-field NCRONTAB, UTC. The rotationTimer trigger reads it as %ROTATION_SCHEDULE%.')
param rotationSchedule string = '0 0 3 * * *'

@description('HEALTH_SCHEDULE: 6-field NCRONTAB, UTC. The healthTimer trigger reads it as %HEALTH_SCHEDULE%.')
param healthSchedule string = '0 */15 * * * *'

@description('ROTATION_QUEUE_NAME: the Storage queue between the timer/API and the worker (trigger: %ROTATION_QUEUE_NAME%).')
param rotationQueueName string = 'rotation-requests'

@minValue(1)
@maxValue(100)
@description('Delivery attempts of a rotation message: the host\'s queues.maxDequeueCount (app setting AzureFunctionsJobHost__extensions__queues__maxDequeueCount overrides host.json) and the worker\'s ROTATION_MAX_DEQUEUE, from this one value.')
param rotationMaxDequeue int = 5

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
// Key Vault roles of the app (rbac.bicep): per secret, from the credential sets
// ---------------------------------------------------------------------------------------------

@description('Comma-separated: each credential set\'s keyVault.secretName in this vault. The app gets Key Vault Secrets Officer on each and on its -pending companion, and on no other secret. The preprovision hook sets KEY_VAULT_ROTATED_SECRETS from the credential sets.')
param rotatedSecretNames string = ''

@description('Comma-separated: the secrets of this vault the sets only read (gateway API tokens, alert-channel secrets). The app gets Key Vault Secrets User (read) on each; the heartbeat secret is added from heartbeatUrlSecretName. The preprovision hook sets KEY_VAULT_READ_SECRETS.')
param readSecretNames string = ''

@description('secret: the app\'s Key Vault roles are assigned per secret (least privilege). vault: Key Vault Secrets Officer on the whole vault, the fallback where secret-scope assignments cannot be made (docs/deployment.md, Key Vault roles).')
@allowed([
  'secret'
  'vault'
])
param keyVaultRoleScope string = 'secret'

// ---------------------------------------------------------------------------------------------
// Target groups reached through Resource Manager (consumerRoles.bicep): a custom role per kind,
// assigned to the app's identity on exactly these resources. Empty: no role, no assignment.
// ---------------------------------------------------------------------------------------------

@description('API Management service resource IDs of the sets\' apim-named-value groups. The app gets the named-values role on each.')
param apimNamedValueServiceIds array = []

@description('API Management service resource IDs of the sets\' apim-credential-manager groups. The app gets the credential-manager role on each.')
param apimCredentialManagerServiceIds array = []

@description('Site resource IDs (…/Microsoft.Web/sites/<name>, not slots) of the sets\' appservice-keyvault-reference groups. The app gets the Key Vault references role on each (slots inherit it).')
param appServiceSiteIds array = []

// ---------------------------------------------------------------------------------------------
// Network, scale and monitoring
// ---------------------------------------------------------------------------------------------

@description('As in the azd Functions quickstarts: a virtual network with private endpoints for Key Vault and Storage, their public network access off, and the app integrated into the network.')
param vnetEnabled bool = false

@description('Flex Consumption instance memory.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@minValue(40)
@maxValue(1000)
@description('Flex Consumption maximum instance count, within the plan\'s documented range (40 to 1000). The set lease already keeps one run per set; this only bounds cost.')
param maximumInstanceCount int = 100

@description('Log Analytics retention in days.')
param logRetentionInDays int = 90

@description('E-mail address that receives the Azure Monitor alerts. Empty: the alert rules are created without an action group (alerts show in the portal only).')
param alertEmail string = ''

@minValue(1)
@maxValue(24)
@description('Hours between two runs of ROTATION_SCHEDULE (24 for the daily default). The "no successful rotation pass" alert fires after two periods without one (log alerts look back at most 2 days).')
param rotationPeriodHours int = 24


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
var effectiveStorageAccountName = !empty(storageAccountName) ? storageAccountName : '${abbrs.storageStorageAccounts}${resourceToken}'
var identityName = !empty(apiUserAssignedIdentityName) ? apiUserAssignedIdentityName : '${abbrs.managedIdentityUserAssignedIdentities}rotator-${resourceToken}'

// ---------------------------------------------------------------------------------------------
// App settings: exactly the list in src/config/appSettingNames.ts marked for Azure (a test over
// the compiled template checks it). One literal object, so every name is visible in the ARM JSON.
// An empty value is "not configured" for the app.
// ---------------------------------------------------------------------------------------------

var credentialSetsJson = empty(credentialSetsJsonBase64) ? '' : base64ToString(credentialSetsJsonBase64)

// Secret names for the app's Key Vault roles: each rotated secret with its -pending companion; the
// read-only ones plus the heartbeat secret (a Key Vault reference the platform resolves with the
// app's identity), minus any the app also writes.
var rotatedBase = empty(rotatedSecretNames) ? [] : split(rotatedSecretNames, ',')
var rotatedSecrets = flatten(map(rotatedBase, n => [trim(n), '${trim(n)}-pending']))
var readSecrets = filter(union(empty(readSecretNames) ? [] : map(split(readSecretNames, ','), n => trim(n)), empty(heartbeatUrlSecretName) ? [] : [heartbeatUrlSecretName]), n => !contains(rotatedSecrets, n))

// The default host name's domain, per cloud (environment() has no App Service suffix).
var appServiceDomains = {
  AzureCloud: 'azurewebsites.net'
  AzureUSGovernment: 'azurewebsites.us'
  AzureChinaCloud: 'chinacloudsites.cn'
}
var appServiceDomain = appServiceDomains[?environment().name] ?? appServiceDomains.AzureCloud

var appSettings = {
  // Exactly one of the two is non-empty (the loader refuses both).
  CREDENTIAL_SETS_FILE: empty(credentialSetsJson) ? (empty(credentialSetsFile) ? 'credential-sets.json' : credentialSetsFile) : ''
  CREDENTIAL_SETS_JSON: credentialSetsJson
  // Identity-based host storage. Both service URIs: the rotator needs the queue endpoint too,
  // and explicit URIs also work in sovereign clouds.
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  AzureWebJobsStorage__blobServiceUri: storage.outputs.blobEndpoint
  AzureWebJobsStorage__queueServiceUri: storage.outputs.queueEndpoint
  // The host writes its diagnostic events to Table storage; without the table endpoint (and
  // Storage Table Data Contributor, rbac.bicep) it loses them.
  AzureWebJobsStorage__tableServiceUri: storage.outputs.tableEndpoint
  ROTATION_SCHEDULE: empty(rotationSchedule) ? '0 0 3 * * *' : rotationSchedule
  HEALTH_SCHEDULE: empty(healthSchedule) ? '0 */15 * * * *' : healthSchedule
  ROTATION_QUEUE_NAME: rotationQueueName
  ROTATION_MAX_DEQUEUE: string(rotationMaxDequeue)
  // host.json cannot hold binding expressions; this documented override sets the host's value.
  AzureFunctionsJobHost__extensions__queues__maxDequeueCount: string(rotationMaxDequeue)
  STORAGE_CONTAINER: storageContainerName
  PUBLIC_BASE_URL: !empty(publicBaseUrl) ? publicBaseUrl : 'https://${functionAppName}.${appServiceDomain}'
  // A secret (whoever holds it can fake the heartbeat): a Key Vault reference, resolved by the
  // platform with the user-assigned identity (keyVaultReferenceIdentity), which can read only the
  // secrets rbac.bicep names. With vnetEnabled the vault has no public access and App Service is
  // NOT a trusted service for Key Vault references (it is trusted for certificate deployment
  // only): the platform resolves the reference through the app's VNet integration, so the vault's
  // private endpoint and the privatelink.vaultcore zone linked to the VNet (network.bicep) must
  // exist before the app starts; docs/deployment.md, "With VNET_ENABLED".
  HEARTBEAT_URL: empty(heartbeatUrlSecretName) ? '' : '@Microsoft.KeyVault(VaultName=${effectiveKeyVaultName};SecretName=${heartbeatUrlSecretName})'
  ALERT_REPEAT_MINUTES: alertRepeatMinutes
  ALERT_RESOLVE_AFTER_PROBES: alertResolveAfterProbes
  PROBE_TIMEOUT_MS: probeTimeoutMs
  // The rotator's identity for Graph and Key Vault: the user-assigned managed identity.
  // AZURE_CLIENT_SECRET and EXTRA_CA_FILE are deliberately absent (local only; the app refuses
  // EXTRA_CA_FILE in Production).
  AZURE_CLIENT_ID: identity.outputs.clientId
  AZURE_AUTHORITY_HOST: azureAuthorityHost
  // Explicit, so the EXTRA_CA_FILE guard never depends on how the platform signals Azure.
  AZURE_FUNCTIONS_ENVIRONMENT: 'Production'
  // Telemetry (src/telemetry) to Application Insights with the identity: local auth is off.
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
  // The exporter's statsbeat reports to fixed Microsoft endpoints outside the address guard: off.
  APPLICATION_INSIGHTS_NO_STATSBEAT: 'true'
}

// ---------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

// One user-assigned identity for everything the app touches: storage (host + rotator state),
// deployment package, Key Vault, Application Insights and Microsoft Graph. User-assigned so the
// one-time Graph grant survives a re-created Function App.
module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: identityName
    location: location
    tags: tags
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

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: effectiveStorageAccountName
    location: location
    tags: tags
    deploymentContainerName: deploymentStorageContainerName
    stateContainerName: storageContainerName
    rotationQueueName: rotationQueueName
    publicNetworkAccess: vnetEnabled ? 'Disabled' : 'Enabled'
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: effectiveKeyVaultName
    location: location
    tags: tags
    publicNetworkAccess: vnetEnabled ? 'Disabled' : 'Enabled'
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module network 'app/network.bicep' = if (vnetEnabled) {
  name: 'network'
  scope: rg
  params: {
    name: !empty(vnetName) ? vnetName : '${abbrs.networkVirtualNetworks}${resourceToken}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
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
    identityPrincipalId: identity.outputs.principalId
    keyVaultRoleScope: keyVaultRoleScope
    rotatedSecretNames: rotatedSecrets
    readSecretNames: readSecrets
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
  }
}

module consumerRoles 'app/consumerRoles.bicep' = {
  name: 'consumerRoles'
  params: {
    identityPrincipalId: identity.outputs.principalId
    environmentName: environmentName
    apimNamedValueServiceIds: apimNamedValueServiceIds
    apimCredentialManagerServiceIds: apimCredentialManagerServiceIds
    appServiceSiteIds: appServiceSiteIds
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
    deploymentStorageContainerUrl: '${storage.outputs.blobEndpoint}${deploymentStorageContainerName}'
    identityId: identity.outputs.resourceId
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    appSettings: appSettings
    virtualNetworkSubnetId: vnetEnabled ? network!.outputs.appSubnetId : ''
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
  dependsOn: [
    rbac
  ]
}

module keyVaultEvents 'app/events.bicep' = {
  name: 'keyvault-events'
  scope: rg
  params: {
    name: '${abbrs.eventGridSystemTopics}kv-${resourceToken}'
    location: location
    tags: tags
    keyVaultName: keyVault.outputs.name
  }
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
    rotationPeriodHours: rotationPeriodHours
  }
}

// ---------------------------------------------------------------------------------------------
// Outputs (azd stores them in .azure/<env>/.env; docs/deployment.md uses them by name). No secret:
// the connection string of a local-auth-disabled component only names where to send telemetry.
// ---------------------------------------------------------------------------------------------

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output SERVICE_API_NAME string = api.outputs.SERVICE_API_NAME
output AZURE_FUNCTION_NAME string = api.outputs.SERVICE_API_NAME
output SERVICE_API_URI string = 'https://${api.outputs.SERVICE_API_DEFAULT_HOSTNAME}'
output ROTATOR_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output ROTATOR_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output ROTATOR_IDENTITY_NAME string = identity.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_ENDPOINT string = keyVault.outputs.uri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.applicationInsightsConnectionString
output KEY_VAULT_EVENTS_TOPIC string = keyVaultEvents.outputs.systemTopicName
