// Provisions the Durable Saga template: a Flex Consumption function app (Python 3.11) that reaches
// storage, telemetry and (optionally) the Durable Task Scheduler with one managed identity and no
// keys. `azd up` passes main.parameters.json; `az deployment sub create` works the same way.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the environment; seeds every resource name (azd sets it to AZURE_ENV_NAME).')
param environmentName string

// The regions that offered Flex Consumption when this list was written (November 2025, from
// `az functionapp list-flexconsumption-locations`); azd offers only these when it asks for one.
// A region added since then is refused here until it is added below (docs/deploy.md).
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({
  azd: {
    type: 'location'
  }
})
@description('Azure region of every resource (but the scheduler, see schedulerLocation); it must offer Flex Consumption.')
param location string

@description('Region of the Durable Task Scheduler when location has none (`az provider show --namespace Microsoft.DurableTask`); empty puts it in location.')
param schedulerLocation string = ''

@description('Object id of the deploying principal, granted read/write on the saga tables (and the task hub); empty grants nothing.')
param principalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
])
@description('What principalId is: User for a person running azd, ServicePrincipal for a pipeline (AZURE_PRINCIPAL_TYPE); a mismatch fails with UnmatchedPrincipalType.')
param principalType string = 'User'

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
@description('Where the durable task hub lives. The app settings point the host at it, so host.json stays as it is.')
param durableBackend string = 'AzureStorage'

@maxLength(40)
@description('Prefix of every saga table name (SAGA_TABLE_PREFIX): empty, or letters and digits starting with a letter.')
param tablePrefix string = ''

@description('Put the app in a virtual network: storage reachable only through private endpoints, its public access off.')
param vnetEnabled bool = false

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
// The one switch behind the backend: the scheduler module, the storage queue role (rbac.bicep)
// and the app settings that pick the host's storage provider (function.bicep) all read it.
var useScheduler = (durableBackend == 'DurableTaskScheduler')
// host.json names the task hub; the scheduler's task hub is created under the same name.
var taskHubName = loadJsonContent('../host.json', '$.extensions.durableTask.hubName')

// The app's rule for SAGA_TABLE_PREFIX (shared/settings.py): empty, or up to 40 ASCII letters and
// digits starting with a letter. Bicep has no regular expressions, so: cutting the prefix at every
// letter and digit must leave nothing, and its first character must be a letter. @maxLength
// above bounds the length; the storage module refuses the deployment when this is false.
var asciiLetters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
var asciiLettersAndDigits = split('A B C D E F G H I J K L M N O P Q R S T U V W X Y Z a b c d e f g h i j k l m n o p q r s t u v w x y z 0 1 2 3 4 5 6 7 8 9', ' ')
var tablePrefixLeftovers = filter(split(tablePrefix, asciiLettersAndDigits), piece => !empty(piece))
var tablePrefixFollowsTheAppsRule = empty(tablePrefixLeftovers) && contains(asciiLetters, substring('${tablePrefix}A', 0, 1))

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
    // any(): Bicep types the guard as the literal true, while this value is known only when Azure
    // evaluates it; Azure then checks it against the guard's @allowed([true]).
    tablePrefixFollowsTheAppsRule: any(tablePrefixFollowsTheAppsRule)
    vnetEnabled: vnetEnabled
  }
}

// Only with vnetEnabled: the virtual network, the storage account's private endpoints and their
// DNS zones. The app joins its subnet (functionApp below); storage turns public access off.
module network 'app/network.bicep' = if (vnetEnabled) {
  name: 'network'
  scope: rg
  params: {
    name: '${abbrs.networkVirtualNetworks}${resourceToken}'
    location: location
    tags: allTags
    securityGroupPrefix: abbrs.networkNetworkSecurityGroups
    privateEndpointPrefix: abbrs.networkPrivateEndpoints
    storageAccountName: storage.outputs.name
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    identityPrincipalId: identity.outputs.principalId
    useScheduler: useScheduler
    userPrincipalId: principalId
    userPrincipalType: principalType
    alertPrincipalId: alerts.outputs.principalId
  }
}

module scheduler 'app/scheduler.bicep' = if (useScheduler) {
  name: 'scheduler'
  scope: rg
  params: {
    name: '${abbrs.durableTaskSchedulers}${resourceToken}'
    location: empty(schedulerLocation) ? location : schedulerLocation
    tags: allTags
    taskHubName: taskHubName
    identityPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
    userPrincipalType: principalType
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
    useScheduler: useScheduler
    // `.?` reads the output of a module that may not be deployed: empty without the scheduler
    // (and without the network), and no "may be null" warning from the compiler.
    schedulerEndpoint: scheduler.?outputs.endpoint ?? ''
    appSubnetId: network.?outputs.appSubnetId ?? ''
    tablePrefix: storage.outputs.tablePrefix
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
output DURABLE_TASK_SCHEDULER_ENDPOINT string = scheduler.?outputs.endpoint ?? ''
output AZURE_VIRTUAL_NETWORK_NAME string = network.?outputs.name ?? ''
