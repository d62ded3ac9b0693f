// Key Vault SecretNearExpiry through Event Grid: a system topic on the vault. The subscription that
// delivers only that event type to the keyVaultEvents function (functions/keyVaultEvents.ts, which
// queues a scheduled rotation of the set whose secret fired) is NOT declared here: Event Grid
// validates the function when the subscription is created, so it can only exist after the code is
// deployed. The azd postdeploy hook creates it idempotently (scripts/azd/eventSubscription.ts); a
// template that created it behind a flag broke every re-provision after `azd down`.
// Key Vault publishes SecretNearExpiry 30 days before a secret version's `exp`; promote sets `exp`.
// https://learn.microsoft.com/azure/key-vault/general/event-grid-overview

param name string
param location string = resourceGroup().location
param tags object = {}

param keyVaultName string

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    source: keyVault.id
    topicType: 'Microsoft.KeyVault.vaults'
  }
}

output systemTopicName string = systemTopic.name
