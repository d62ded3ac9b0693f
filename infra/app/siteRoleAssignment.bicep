// One custom role (consumerRoles.bicep) for the rotator's identity on one App Service or Functions
// site; its slots are child resources and inherit it.

param siteName string
param roleDefinitionGuid string
param principalId string

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: siteName
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(site.id, principalId, roleDefinitionGuid)
  scope: site
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionGuid)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
