// Least-privilege data-plane roles for the app's identity, each scoped to the one resource it
// needs (never the resource group), plus read/write on the saga tables for the deploying principal
// (a person, or a pipeline's service principal) and read on Application Insights for the
// NeedsAttention alert rule's identity.

param storageAccountName string
param applicationInsightsName string
param identityPrincipalId string
@description('The durable task hub lives in the Durable Task Scheduler, not in storage queues and tables.')
param useScheduler bool
@description('Object id of the deploying principal; empty grants nothing.')
param userPrincipalId string
@allowed([
  'User'
  'ServicePrincipal'
])
@description('User for a person, ServicePrincipal for a pipeline; Azure refuses a grant whose type does not match.')
param userPrincipalType string
@description('Principal id of the alert rule\'s system-assigned identity (alerts.bicep).')
param alertPrincipalId string

// Built-in role definition ids (the same in every tenant).
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Storage Queue Data Contributor
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb' // Monitoring Metrics Publisher
var reader = 'acdd72a7-3385-48ef-bd42-f606fba81ae7' // Reader

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Host: leases, keys and the deployment package (the host needs blob ownership for leases).
resource appBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identityPrincipalId, storageBlobDataOwner)
  scope: storage
  properties: {
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
  }
}

// Durable task hub on Azure Storage: work-item and control queues.
resource appQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!useScheduler) {
  name: guid(storage.id, identityPrincipalId, storageQueueDataContributor)
  scope: storage
  properties: {
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributor)
  }
}

// The saga's tables (SAGA_TABLE_ENDPOINT) and, on Azure Storage, the durable history tables.
resource appTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identityPrincipalId, storageTableDataContributor)
  scope: storage
  properties: {
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributor)
  }
}

// Identity-based telemetry ingestion (APPLICATIONINSIGHTS_AUTHENTICATION_STRING).
resource appMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, identityPrincipalId, monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
  }
}

// The deploying principal may inspect and seed the saga's tables (stock, accounts).
resource userTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(userPrincipalId)) {
  name: guid(storage.id, userPrincipalId, storageTableDataContributor)
  scope: storage
  properties: {
    principalId: userPrincipalId
    principalType: userPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributor)
  }
}

// The alert rule runs its query as its own identity; reading the component's logs is all it needs.
resource alertReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, alertPrincipalId, reader)
  scope: applicationInsights
  properties: {
    principalId: alertPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', reader)
  }
}
