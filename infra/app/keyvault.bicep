// Key Vault for the credential sets' client secrets (and their -pending companions), the gateway
// API tokens, the alert channel URLs/keys and the heartbeat URL. Secrets only: state lives in
// storage. RBAC mode (no access policies); soft delete with purge protection, because losing the
// only copy of a client secret that gateways use would be an outage.

@description('Key Vault name: 3-24 letters, digits and dashes, starting with a letter.')
@minLength(3)
@maxLength(24)
param name string

param location string = resourceGroup().location
param tags object = {}

@description('Disabled with vnetEnabled: the app reaches the vault through its private endpoint.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Enabled'

@description('Log Analytics workspace for the vault\'s audit log (who read or changed which secret).')
param logAnalyticsWorkspaceId string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // Irreversible by design: a deleted vault or secret stays recoverable for 90 days and cannot
    // be purged early. See docs/deployment.md (Removing a deployment).
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      // Nothing here relies on the trusted-services bypass: App Service is trusted for certificate
      // deployment only, not for Key Vault references (HEARTBEAT_URL resolves through the app's VNet
      // integration and the vault's private endpoint, main.bicep), and an Event Grid system topic
      // needs no data-plane access (the vault publishes its events). Kept for Azure services an
      // operator may add (e.g. backup), which is the platform's default.
      bypass: 'AzureServices'
      defaultAction: publicNetworkAccess == 'Enabled' ? 'Allow' : 'Deny'
    }
  }
}

// The vault's audit log: every secret read and write, with the caller's identity.
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: vault
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'audit'
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

output name string = vault.name
output uri string = vault.properties.vaultUri
output resourceId string = vault.id
