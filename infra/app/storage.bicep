// The Function App's own storage account. It serves the Functions host (AzureWebJobsStorage:
// timer schedules, host locks, keys), the Flex Consumption deployment package, and the rotator's
// state: set leases, run journals and incidents (blob container) and the rotation queue.
// Identity-only: shared keys and SAS are disabled, so no connection string exists to leak.

@description('Storage account name: 3-24 lowercase letters and digits.')
@minLength(3)
@maxLength(24)
param name string

param location string = resourceGroup().location
param tags object = {}

@description('Container holding the Flex Consumption deployment package.')
param deploymentContainerName string

@description('Container for leases, run journals and incident state (STORAGE_CONTAINER).')
param stateContainerName string

@description('Rotation queue (ROTATION_QUEUE_NAME). Its poison queue is created alongside.')
param rotationQueueName string

module storageAccount 'br/public:avm/res/storage/storage-account:0.8.3' = {
  name: 'storage-account'
  params: {
    name: name
    location: location
    tags: tags
    kind: 'StorageV2'
    skuName: 'Standard_LRS'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    supportsHttpsTrafficOnly: true
    minimumTlsVersion: 'TLS1_2'
    dnsEndpointType: 'Standard'
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    blobServices: {
      // Soft delete: a journal or lease blob deleted by mistake can be undeleted for 7 days.
      deleteRetentionPolicyEnabled: true
      deleteRetentionPolicyDays: 7
      containerDeleteRetentionPolicyEnabled: true
      containerDeleteRetentionPolicyDays: 7
      containers: [
        {
          name: deploymentContainerName
          publicAccess: 'None'
        }
        {
          name: stateContainerName
          publicAccess: 'None'
        }
      ]
    }
    queueServices: {
      // The host would create these on first use; creating them here makes the names visible
      // and lets operators watch the poison queue from day one.
      queues: [
        {
          name: rotationQueueName
        }
        {
          name: '${rotationQueueName}-poison'
        }
      ]
    }
  }
}

output name string = storageAccount.outputs.name
output resourceId string = storageAccount.outputs.resourceId
