// Key Vault SecretNearExpiry through Event Grid: a system topic on the vault and, once the code is
// deployed, a subscription that delivers only that event type to the keyVaultEvents function
// (functions/keyVaultEvents.ts), which queues a scheduled rotation of the set whose secret fired.
// Key Vault publishes SecretNearExpiry 30 days before a secret version's `exp`; promote sets `exp`.
// https://learn.microsoft.com/azure/key-vault/general/event-grid-overview

param name string
param location string = resourceGroup().location
param tags object = {}

param keyVaultName string
param functionAppName string

@description('False until the keyVaultEvents function exists: Event Grid validates the endpoint when the subscription is created.')
param subscriptionEnabled bool = false

@description('Name of the Event Grid function (functions/keyVaultEvents.ts).')
param functionName string = 'keyVaultEvents'

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
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

resource nearExpiry 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = if (subscriptionEnabled) {
  parent: systemTopic
  name: 'secret-near-expiry-to-rotator'
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionApp.id}/functions/${functionName}'
        maxEventsPerBatch: 1
      }
    }
    filter: {
      includedEventTypes: [
        'Microsoft.KeyVault.SecretNearExpiry'
      ]
    }
    eventDeliverySchema: 'EventGridSchema'
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}

output systemTopicName string = systemTopic.name
