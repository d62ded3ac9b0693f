// Least-privilege Azure RBAC for the rotator's user-assigned identity, each role on the one
// resource that needs it. Microsoft Graph permissions are not Azure RBAC and cannot be granted
// here: see docs/deployment.md, "One-time Entra steps".

param storageAccountName string
param keyVaultName string
param applicationInsightsName string

@description('Object (principal) ID of the rotator\'s user-assigned managed identity.')
param identityPrincipalId string

@description('secret: Key Vault roles per secret (rotatedSecretNames, readSecretNames). vault: Key Vault Secrets Officer on the whole vault (fallback).')
@allowed([
  'secret'
  'vault'
])
param keyVaultRoleScope string = 'secret'

@description('Secrets the rotator writes: each set\'s client secret and its -pending companion. Key Vault Secrets Officer on each.')
param rotatedSecretNames array = []

@description('Secrets the rotator and the platform only read: gateway API tokens, alert-channel secrets, the heartbeat URL. Key Vault Secrets User on each.')
param readSecretNames array = []

@description('Object ID of whoever runs azd; gets Key Vault Secrets Officer to store the initial secrets. Empty: none.')
param deployerPrincipalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param deployerPrincipalType string = 'User'

// Built-in role definition IDs (same in every Azure cloud).
var roles = {
  // Host storage (identity-based AzureWebJobsStorage), deployment package, leases, journals.
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  // Rotation queue trigger and output binding.
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  // The host's diagnostic events (AzureWebJobsStorage__tableServiceUri).
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  // Read, write, tag and disable secret versions (pending -> current -> disabled): only on the
  // secrets a rotation writes. The deployer gets it on the vault, to store the first secrets.
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
  // Read only: the gateway API token, the alert-channel secrets, the heartbeat URL.
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  // Telemetry to Application Insights with Entra authentication (local auth is disabled).
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource storageBlobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, identityPrincipalId, roles.storageBlobDataOwner)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource storageQueueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, identityPrincipalId, roles.storageQueueDataContributor)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource storageTableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, identityPrincipalId, roles.storageTableDataContributor)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Key Vault roles of the app at secret scope. With Secrets Officer on the whole vault the app could
// also rewrite the gateway API token and the alert-channel secrets (where alerts go); now it writes
// only what a rotation writes and reads what it reads. The secrets may not exist yet when this
// runs (the operator stores the client secret after the first provision; the rotator creates
// <name>-pending at its first rotation); `existing` here only names them, Bicep reads nothing.
// Whether Resource Manager accepts an assignment on a secret that does not exist yet could not be
// checked offline: keyVaultRoleScope = 'vault' is the fallback (docs/deployment.md, Key Vault roles).
resource rotatedSecrets 'Microsoft.KeyVault/vaults/secrets@2023-07-01' existing = [
  for name in rotatedSecretNames: {
    parent: keyVault
    name: name
  }
]

resource secretsOfficerOnSecret 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (name, i) in rotatedSecretNames: if (keyVaultRoleScope == 'secret') {
    name: guid(keyVault.id, name, identityPrincipalId, roles.keyVaultSecretsOfficer)
    scope: rotatedSecrets[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
      principalId: identityPrincipalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource readSecrets 'Microsoft.KeyVault/vaults/secrets@2023-07-01' existing = [
  for name in readSecretNames: {
    parent: keyVault
    name: name
  }
]

resource secretsUserOnSecret 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (name, i) in readSecretNames: if (keyVaultRoleScope == 'secret') {
    name: guid(keyVault.id, name, identityPrincipalId, roles.keyVaultSecretsUser)
    scope: readSecrets[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
      principalId: identityPrincipalId
      principalType: 'ServicePrincipal'
    }
  }
]

// Fallback (keyVaultRoleScope = 'vault'): the former vault-wide role.
resource keyVaultSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (keyVaultRoleScope == 'vault') {
  name: guid(keyVault.id, identityPrincipalId, roles.keyVaultSecretsOfficer)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource monitoringMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, identityPrincipalId, roles.monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The deployer stores the initial secrets (current client secret, gateway API token, alert
// channel URLs/keys); an RBAC-mode vault gives nobody data-plane access by default.
resource deployerKeyVaultSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(keyVault.id, deployerPrincipalId, roles.keyVaultSecretsOfficer)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}
