// Flex Consumption plan (FC1) and the Function App (Node.js 22) with a user-assigned identity.
// Every connection is identity-based: storage (AzureWebJobsStorage__*), the deployment package,
// Application Insights, Key Vault references and the rotator's own Graph/Key Vault calls
// (AZURE_CLIENT_ID).

@description('Function App name.')
param name string

param location string = resourceGroup().location
param tags object = {}

@description('azd service name in azure.yaml; azd finds the app by this tag.')
param serviceName string = 'api'

param appServicePlanName string
param storageAccountName string
param deploymentStorageContainerName string
param applicationInsightsName string

@description('Resource ID of the user-assigned managed identity.')
param identityId string

@description('Client ID of the same identity.')
param identityClientId string

@description('Rotator app settings (docs/configuration.md), merged with the platform settings below.')
param appSettings object = {}

param instanceMemoryMB int = 2048
param maximumInstanceCount int = 100

resource stg 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

module appServicePlan 'br/public:avm/res/web/serverfarm:0.1.1' = {
  name: 'flex-consumption-plan'
  params: {
    name: appServicePlanName
    location: location
    tags: tags
    sku: {
      name: 'FC1'
      tier: 'FlexConsumption'
    }
    reserved: true
    zoneRedundant: false
  }
}

// Platform settings win over anything passed in appSettings (union: later objects override).
// Flex Consumption rejects FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION /
// WEBSITE_NODE_DEFAULT_VERSION app settings: the runtime is set in functionAppConfig.runtime.
var platformSettings = {
  // Identity-based host storage. Both service URIs: the rotator needs the queue endpoint too,
  // and explicit URIs also work in sovereign clouds.
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: stg.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: stg.properties.primaryEndpoints.queue
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}

module functionApp 'br/public:avm/res/web/site:0.15.1' = {
  name: '${serviceName}-flex-consumption'
  params: {
    kind: 'functionapp,linux'
    name: name
    location: location
    tags: union(tags, {
      'azd-service-name': serviceName
    })
    serverFarmResourceId: appServicePlan.outputs.resourceId
    httpsOnly: true
    managedIdentities: {
      systemAssigned: false
      userAssignedResourceIds: [
        identityId
      ]
    }
    // Key Vault references in app settings (HEARTBEAT_URL) resolve with the user-assigned identity.
    keyVaultAccessIdentityResourceId: identityId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${stg.properties.primaryEndpoints.blob}${deploymentStorageContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
    // The module defaults to alwaysOn: true, which Flex Consumption rejects. Minimum TLS stays at
    // the platform default (1.2); FTP does not exist on Flex Consumption.
    siteConfig: {
      alwaysOn: false
    }
    // azd deploys with Entra tokens; publishing passwords are never needed.
    basicPublishingCredentialsPolicies: [
      {
        name: 'ftp'
        allow: false
      }
      {
        name: 'scm'
        allow: false
      }
    ]
    appSettingsKeyValuePairs: union(appSettings, platformSettings)
  }
}

output SERVICE_API_NAME string = functionApp.outputs.name
output SERVICE_API_DEFAULT_HOSTNAME string = functionApp.outputs.defaultHostname
output SERVICE_API_RESOURCE_ID string = functionApp.outputs.resourceId
