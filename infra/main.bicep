// Provisions the Durable Saga template: a Flex Consumption function app (Python 3.11) that reaches
// storage, telemetry and (optionally) the Durable Task Scheduler with one managed identity and no
// keys. `azd up` passes main.parameters.json; `az deployment sub create` works the same way.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the environment; seeds every resource name (azd sets it to AZURE_ENV_NAME).')
param environmentName string

@minLength(1)
@description('Azure region of every resource; it must offer Flex Consumption.')
param location string

@description('Object id of the deploying user, granted read/write on the saga tables; empty grants nothing.')
param principalId string = ''

@minValue(40)
@maxValue(1000)
@description('Most instances the app scales out to.')
param maximumInstanceCount int = 100

@minValue(0)
@description('Always-ready instances of the durable scale group (orchestrators, activities); 0 scales to zero.')
param alwaysReadyDurableInstances int = 1

@allowed([
  'AzureStorage'
  'DurableTaskScheduler'
])
@description('Where the durable task hub lives; DurableTaskScheduler also needs the host.json switch in docs/deploy.md.')
param durableBackend string = 'AzureStorage'

@description('Prefix of every saga table name (SAGA_TABLE_PREFIX).')
param tablePrefix string = ''

@minValue(0)
@description('Orders totalling at least this many cents wait for approval (APPROVAL_THRESHOLD_CENTS).')
param approvalThresholdCents int = 100000

@minValue(1)
@description('Seconds an approval may take before the order is compensated (APPROVAL_TIMEOUT_SECONDS).')
param approvalTimeoutSeconds int = 86400

@description('Comma-separated ISO country codes shipping accepts (SHIPPING_COUNTRIES); empty keeps the app default.')
param shippingCountries string = ''

@allowed([
  'declarative'
  'imperative'
])
@description('How the order saga new orders start is written (ORDER_SAGA_STYLE): the SagaDefinition or the same steps as plain code.')
param orderSagaStyle string = 'declarative'

@minValue(1)
@description('Days after a saga ends before its idempotency records and history are purged; also how long an Idempotency-Key is remembered (SAGA_RETENTION_DAYS).')
param retentionDays int = 30

@description('NCRONTAB schedule of the retention run, six fields (SAGA_RETENTION_SCHEDULE).')
param retentionSchedule string = '0 30 3 * * *'

@description('Email address told when a saga enters NeedsAttention; empty sends none (the alert still shows in the portal).')
param alertEmail string = ''

@description('Tags added to every resource.')
param tags object = {}

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var allTags = union(tags, { 'azd-env-name': environmentName })
var functionAppName = '${abbrs.webSitesFunctions}${resourceToken}'
var useScheduler = (durableBackend == 'DurableTaskScheduler')
// The hub name in host.json; the scheduler's task hub uses the same one.
var taskHubName = 'DurableSagaHub'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: allTags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}${resourceToken}'
    location: location
    tags: allTags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: allTags
  }
}

module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    name: '${abbrs.insightsScheduledQueryRules}saga-attention-${resourceToken}'
    location: location
    tags: allTags
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    actionGroupName: '${abbrs.insightsActionGroups}saga-ops-${resourceToken}'
    alertEmail: alertEmail
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: allTags
    deploymentContainerName: 'app-package-${take(functionAppName, 32)}'
    tablePrefix: tablePrefix
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    identityPrincipalId: identity.outputs.principalId
    durableBackend: durableBackend
    userPrincipalId: principalId
    alertPrincipalId: alerts.outputs.principalId
  }
}

module scheduler 'app/scheduler.bicep' = if (useScheduler) {
  name: 'scheduler'
  scope: rg
  params: {
    name: '${abbrs.durableTaskSchedulers}${resourceToken}'
    location: location
    tags: allTags
    taskHubName: taskHubName
    identityPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
  }
}

module functionApp 'app/function.bicep' = {
  name: 'function'
  scope: rg
  params: {
    planName: '${abbrs.webServerFarms}${resourceToken}'
    name: functionAppName
    location: location
    tags: allTags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageTableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    maximumInstanceCount: maximumInstanceCount
    alwaysReadyDurableInstances: alwaysReadyDurableInstances
    durableBackend: durableBackend
    schedulerEndpoint: useScheduler ? scheduler.outputs.endpoint : ''
    taskHubName: taskHubName
    tablePrefix: tablePrefix
    approvalThresholdCents: approvalThresholdCents
    approvalTimeoutSeconds: approvalTimeoutSeconds
    shippingCountries: shippingCountries
    orderSagaStyle: orderSagaStyle
    retentionDays: retentionDays
    retentionSchedule: retentionSchedule
  }
  // The app must not start before its identity may read its own storage.
  dependsOn: [
    rbac
  ]
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output SERVICE_API_URI string = 'https://${functionApp.outputs.defaultHostName}'
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output SAGA_TABLE_ENDPOINT string = storage.outputs.tableEndpoint
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output SAGA_ATTENTION_ALERT_NAME string = alerts.outputs.name
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output DURABLE_BACKEND string = durableBackend
output DURABLE_TASK_SCHEDULER_ENDPOINT string = useScheduler ? scheduler.outputs.endpoint : ''
