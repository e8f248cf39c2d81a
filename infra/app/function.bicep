// The Flex Consumption plan and the Python 3.11 function app. Every connection is identity-based:
// host storage, the saga's tables, telemetry and (optionally) the Durable Task Scheduler. The
// durable backend is chosen here, by app settings, from the same switch as main.bicep's scheduler
// and roles (useScheduler), so the host's provider always matches what was deployed.

param planName string
param name string
param location string
param tags object
param identityId string
param identityClientId string
param storageAccountName string
param storageBlobEndpoint string
param storageTableEndpoint string
param deploymentContainerName string
param applicationInsightsName string
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int
@minValue(0)
param alwaysReadyDurableInstances int
@description('Point the host at the Durable Task Scheduler instead of its default, Azure Storage.')
param useScheduler bool
@description('Durable Task Scheduler endpoint; empty unless useScheduler.')
param schedulerEndpoint string
@description('Subnet the app is integrated into (network.bicep); empty keeps it out of any virtual network.')
param appSubnetId string
param tablePrefix string
param approvalThresholdCents int
param approvalTimeoutSeconds int
param shippingCountries string
param orderSagaStyle string
param retentionDays int
param retentionSchedule string

// azd deploys the 'api' service of azure.yaml to the app carrying this tag.
var serviceTag = {
  'azd-service-name': 'api'
}

var durableAlwaysReady = [
  {
    name: 'durable'
    instanceCount: alwaysReadyDurableInstances
  }
]

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  //checkov:skip=CKV_AZURE_225: Zone redundancy on Flex Consumption depends on the region and keeps two always-ready instances per group; set properties.zoneRedundant where both hold.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true // Linux
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  //checkov:skip=CKV_AZURE_222: The order API is public by design; callers need a function key (auth level FUNCTION) over TLS 1.2.
  //checkov:skip=CKV_AZURE_17: Callers authenticate with function keys, not client certificates; mutual TLS is not part of the API contract.
  //checkov:skip=CKV_AZURE_212: Flex Consumption has no minimum instance count; the always-ready instances of the durable group (alwaysReadyDurableInstances) serve that purpose.
  //checkov:skip=CKV_AZURE_213: Flex Consumption does not support the platform health check; GET /api/health serves external probes instead.
  name: name
  location: location
  tags: union(tags, serviceTag)
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // With vnetEnabled, outbound traffic leaves through this subnet, where storage's private
    // endpoints resolve (private DNS zones linked to the network).
    virtualNetworkSubnetId: empty(appSubnetId) ? null : appSubnetId
    siteConfig: {
      appSettings: appSettings
      ftpsState: 'Disabled'
      http20Enabled: true
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: 2048
        // Orchestrator and activity triggers form the 'durable' scale group.
        alwaysReady: (alwaysReadyDurableInstances > 0) ? durableAlwaysReady : []
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// Settings every deployment gets. Flex Consumption sets the runtime itself, so
// FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION must not appear here.
var baseSettings = [
  {
    name: 'AzureWebJobsStorage__accountName'
    value: storageAccountName
  }
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: identityClientId
  }
  {
    // Not a secret: with local auth disabled it only names the component; ingestion needs a token.
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: applicationInsights.properties.ConnectionString
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'Authorization=AAD;ClientId=${identityClientId}'
  }
  {
    // The worker exports the saga's log records itself (azure-monitor-opentelemetry in
    // requirements.txt), so their fields become custom dimensions; the host would drop them.
    // Its exporter authenticates with the identity of APPLICATIONINSIGHTS_AUTHENTICATION_STRING.
    name: 'PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY'
    value: 'true'
  }
  {
    // Only the saga loggers (shared.saga and its children): the rest still reaches Application
    // Insights through the host, as before.
    name: 'PYTHON_APPLICATIONINSIGHTS_LOGGER_NAME'
    value: 'shared.saga'
  }
  {
    // The host already sends requests, dependencies and metrics; the worker sends logs only.
    name: 'OTEL_TRACES_EXPORTER'
    value: 'none'
  }
  {
    name: 'OTEL_METRICS_EXPORTER'
    value: 'none'
  }
  {
    // DefaultAzureCredential (shared/storage.py) picks the user-assigned identity by this id.
    name: 'AZURE_CLIENT_ID'
    value: identityClientId
  }
  {
    name: 'SAGA_TABLE_ENDPOINT'
    value: storageTableEndpoint
  }
  {
    name: 'SAGA_TABLE_PREFIX'
    value: tablePrefix
  }
  {
    name: 'APPROVAL_THRESHOLD_CENTS'
    value: string(approvalThresholdCents)
  }
  {
    name: 'APPROVAL_TIMEOUT_SECONDS'
    value: string(approvalTimeoutSeconds)
  }
  {
    name: 'ORDER_SAGA_STYLE'
    value: orderSagaStyle
  }
  {
    name: 'SAGA_RETENTION_DAYS'
    value: string(retentionDays)
  }
  {
    name: 'SAGA_RETENTION_SCHEDULE'
    value: retentionSchedule
  }
  {
    // Fault injection is for tests only; never on in Azure.
    name: 'CHAOS_FAULT_RATE'
    value: '0'
  }
]

// Left out when empty, so the app keeps its default list.
var shippingSetting = [
  {
    name: 'SHIPPING_COUNTRIES'
    value: shippingCountries
  }
]

// The Durable Task Scheduler backend. host.json keeps the extension's default provider (Azure
// Storage); these settings override it, as the host lets an app setting named
// AzureFunctionsJobHost__<path> replace host.json's <path> ("Override host.json values" in
// Microsoft's host.json reference). The settings come and go with useScheduler in the same
// deployment as the scheduler and its role, so the provider and the roles cannot disagree.
// The hub name stays host.json's hubName, which main.bicep gives the scheduler's task hub.
var schedulerConnection = [
  {
    name: 'AzureFunctionsJobHost__extensions__durableTask__storageProvider__type'
    value: 'azureManaged'
  }
  {
    // Names the setting below; the extension reads the connection from it.
    name: 'AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName'
    value: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
  }
  {
    // Identity-based: the endpoint and which identity to use; there is no key in it.
    name: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
    value: 'Endpoint=${schedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identityClientId}'
  }
]

var shippingSettings = empty(shippingCountries) ? [] : shippingSetting
var schedulerSettings = useScheduler ? schedulerConnection : []
var appSettings = concat(baseSettings, shippingSettings, schedulerSettings)

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
