// Least-privilege custom roles for the target groups reached through Azure Resource Manager
// (docs/deployment.md, "Roles for target groups"), each assigned to the rotator's identity on exactly
// the resources listed, and created only when some resource is. The action names follow ARM's
// rule ({provider}/{resource type}/{read|write|<action>/action}) over the paths in
// ../shared/specs/; the docs say which are inferred.
targetScope = 'subscription'

@description('Object (principal) ID of the rotator\'s user-assigned managed identity.')
param identityPrincipalId string

@description('Names the roles per deployment, so two environments in one tenant do not share one definition.')
param environmentName string

@description('API Management service resource IDs whose Key Vault-backed or plain named values the rotator refreshes or writes (apim-named-value).')
param apimNamedValueServiceIds array = []

@description('API Management service resource IDs whose credential providers and connections the rotator rewrites (apim-credential-manager).')
param apimCredentialManagerServiceIds array = []

@description('App Service / Functions site resource IDs (…/Microsoft.Web/sites/<name>) whose Key Vault references the rotator refreshes (appservice-keyvault-reference); the assignment on a site covers its slots.')
param appServiceSiteIds array = []

// Exactly what each adapter calls (src/gateway/<kind>/adapter.ts), and nothing else.
var roleActions = {
  apimNamedValue: [
    'Microsoft.ApiManagement/service/namedValues/read'
    'Microsoft.ApiManagement/service/namedValues/write'
    'Microsoft.ApiManagement/service/namedValues/listValue/action'
    'Microsoft.ApiManagement/service/namedValues/refreshSecret/action'
    // Polling the Azure-AsyncOperation URL of PATCH and refreshSecret (…/service/{name}/tenant/operationResults/{id}).
    'Microsoft.ApiManagement/service/tenant/operationResults/read'
  ]
  apimCredentialManager: [
    'Microsoft.ApiManagement/service/authorizationProviders/read'
    'Microsoft.ApiManagement/service/authorizationProviders/write'
    'Microsoft.ApiManagement/service/authorizationProviders/authorizations/read'
    'Microsoft.ApiManagement/service/authorizationProviders/authorizations/write'
  ]
  appServiceKeyVaultReference: [
    'Microsoft.Web/sites/config/read'
    'Microsoft.Web/sites/config/configreferences/appsettings/refresh/action'
    'Microsoft.Web/sites/slots/config/read'
    'Microsoft.Web/sites/slots/config/configreferences/appsettings/refresh/action'
  ]
}

// A custom role can only be assigned inside its assignable scopes: this subscription and every
// subscription that holds a listed resource.
func subscriptionsOf(ids array) array => map(ids, id => '/subscriptions/${split(id, '/')[2]}')
var scopesNamedValue = union([subscription().id], subscriptionsOf(apimNamedValueServiceIds))
var scopesCredentialManager = union([subscription().id], subscriptionsOf(apimCredentialManagerServiceIds))
var scopesAppService = union([subscription().id], subscriptionsOf(appServiceSiteIds))

resource namedValueRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (!empty(apimNamedValueServiceIds)) {
  name: guid(subscription().id, environmentName, 'apim-named-value')
  properties: {
    roleName: 'mcp-sso-rotator API Management named values (${environmentName})'
    description: 'Read, write, read the value of and refresh API Management named values (mcp-sso-rotator, apim-named-value).'
    type: 'CustomRole'
    permissions: [
      {
        actions: roleActions.apimNamedValue
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: scopesNamedValue
  }
}

resource credentialManagerRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (!empty(apimCredentialManagerServiceIds)) {
  name: guid(subscription().id, environmentName, 'apim-credential-manager')
  properties: {
    roleName: 'mcp-sso-rotator API Management credential manager (${environmentName})'
    description: 'Read and write API Management credential providers and their connections (mcp-sso-rotator, apim-credential-manager).'
    type: 'CustomRole'
    permissions: [
      {
        actions: roleActions.apimCredentialManager
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: scopesCredentialManager
  }
}

resource appServiceRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (!empty(appServiceSiteIds)) {
  name: guid(subscription().id, environmentName, 'appservice-keyvault-reference')
  properties: {
    roleName: 'mcp-sso-rotator App Service Key Vault references (${environmentName})'
    description: 'Read site configuration and refresh Key Vault references of sites and slots (mcp-sso-rotator, appservice-keyvault-reference).'
    type: 'CustomRole'
    permissions: [
      {
        actions: roleActions.appServiceKeyVaultReference
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: scopesAppService
  }
}

// One assignment per listed resource, deployed in that resource's resource group.
module namedValueAssignments 'apimRoleAssignment.bicep' = [
  for (id, i) in apimNamedValueServiceIds: {
    name: 'role-apim-nv-${i}'
    scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
    params: {
      serviceName: last(split(id, '/'))
      roleDefinitionGuid: namedValueRole.name
      principalId: identityPrincipalId
    }
  }
]

module credentialManagerAssignments 'apimRoleAssignment.bicep' = [
  for (id, i) in apimCredentialManagerServiceIds: {
    name: 'role-apim-cm-${i}'
    scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
    params: {
      serviceName: last(split(id, '/'))
      roleDefinitionGuid: credentialManagerRole.name
      principalId: identityPrincipalId
    }
  }
]

module appServiceAssignments 'siteRoleAssignment.bicep' = [
  for (id, i) in appServiceSiteIds: {
    name: 'role-site-${i}'
    scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
    params: {
      siteName: split(id, '/')[8]
      roleDefinitionGuid: appServiceRole.name
      principalId: identityPrincipalId
    }
  }
]
