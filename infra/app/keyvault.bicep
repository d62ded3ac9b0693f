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

@description('Log Analytics workspace for the vault\'s audit log (who read or changed which secret).')
param logAnalyticsWorkspaceId string

module vault 'br/public:avm/res/key-vault/vault:0.13.3' = {
  name: 'key-vault'
  params: {
    name: name
    location: location
    tags: tags
    sku: 'standard'
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // Irreversible by design: a deleted vault or secret stays recoverable for 90 days and cannot
    // be purged early. See docs/deployment.md (re-using an environment name).
    enablePurgeProtection: true
    enableVaultForDeployment: false
    enableVaultForDiskEncryption: false
    enableVaultForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
    diagnosticSettings: [
      {
        workspaceResourceId: logAnalyticsWorkspaceId
      }
    ]
  }
}

output name string = vault.outputs.name
output uri string = vault.outputs.uri
output resourceId string = vault.outputs.resourceId
