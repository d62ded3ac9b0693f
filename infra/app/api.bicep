// Flex Consumption plan (FC1) and the Function App (Node.js 22) with a user-assigned identity.
// Every connection is identity-based: storage (AzureWebJobsStorage__*), the deployment package,
// Application Insights, Key Vault references and the rotator's own Graph/Key Vault calls
// (AZURE_CLIENT_ID). The app settings come whole from main.bicep.

@description('Function App name.')
param name string

param location string = resourceGroup().location
param tags object = {}

@description('azd service name in azure.yaml; azd finds the app by this tag.')
param serviceName string = 'api'

param appServicePlanName string

@description('URL of the blob container Flex Consumption reads the deployment package from.')
param deploymentStorageContainerUrl string

@description('Resource ID of the user-assigned managed identity.')
param identityId string

@secure()
@description('Every app setting, name → value (main.bicep). Secure: CREDENTIAL_SETS_JSON must not show in the deployment history. Flex Consumption rejects FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION / WEBSITE_NODE_DEFAULT_VERSION: the runtime is functionAppConfig.runtime.')
param appSettings object

param instanceMemoryMB int = 2048
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Subnet (delegated to Microsoft.App/environments) for outbound traffic; empty: no VNet integration.')
param virtualNetworkSubnetId string = ''

@description('Log Analytics workspace for the FunctionAppLogs category.')
param logAnalyticsWorkspaceId string

resource appServicePlan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: appServicePlanName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
    zoneRedundant: false
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': serviceName
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: appServicePlan.id
    httpsOnly: true
    // Key Vault references in app settings (HEARTBEAT_URL) resolve with the user-assigned identity.
    keyVaultReferenceIdentity: identityId
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentStorageContainerUrl
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
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: [
        for setting in items(appSettings): {
          name: setting.key
          value: setting.value
        }
      ]
    }
  }
}

// azd deploys with Entra tokens; publishing passwords are never needed.
resource ftpPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'function-logs-to-log-analytics'
  scope: functionApp
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'FunctionAppLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

output SERVICE_API_NAME string = functionApp.name
output SERVICE_API_DEFAULT_HOSTNAME string = functionApp.properties.defaultHostName
output SERVICE_API_RESOURCE_ID string = functionApp.id
