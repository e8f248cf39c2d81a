// Optional Durable Task Scheduler backend: a scheduler, the app's task hub and the data role for
// the app's identity (and the deploying principal, for the dashboard), scoped to that task hub:
// a role on the scheduler would reach every task hub it will ever hold.

param name string
param location string
param tags object
@description('The task hub; host.json\'s hubName, which the app uses.')
param taskHubName string
param identityPrincipalId string
@description('Object id of the deploying principal; empty grants nothing.')
param userPrincipalId string
@allowed([
  'User'
  'ServicePrincipal'
])
@description('User for a person, ServicePrincipal for a pipeline; Azure refuses a grant whose type does not match.')
param userPrincipalType string

var durableTaskDataContributor = '0ad04412-c4d5-4796-b79c-f76d14c8d402' // Durable Task Data Contributor

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'Consumption'
    }
    // An empty list blocks every caller; access is still gated by the role below.
    ipAllowlist: [
      '0.0.0.0/0'
    ]
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {
  parent: scheduler
  name: taskHubName
}

resource appDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(taskHub.id, identityPrincipalId, durableTaskDataContributor)
  scope: taskHub
  properties: {
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', durableTaskDataContributor)
  }
}

resource userDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(userPrincipalId)) {
  name: guid(taskHub.id, userPrincipalId, durableTaskDataContributor)
  scope: taskHub
  properties: {
    principalId: userPrincipalId
    principalType: userPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', durableTaskDataContributor)
  }
}

output endpoint string = scheduler.properties.endpoint
output taskHubName string = taskHub.name
