// The storage account shared by the Functions host (AzureWebJobsStorage, the deployment package,
// the durable task hub) and the saga's own tables. Reachable with Entra ID tokens only, and with
// vnetEnabled only through its private endpoints (network.bicep).

param name string
param location string
param tags object
@description('Blob container that Flex Consumption deploys the app package into.')
param deploymentContainerName string
@maxLength(40)
@description('Prefix of every saga table name (SAGA_TABLE_PREFIX).')
param tablePrefix string
// main.bicep works the app's rule out; Azure refuses any value but true before creating anything
// in this module, so a prefix the app would reject at start-up never names a table.
@allowed([
  true
])
@description('tablePrefix is empty, or up to 40 letters and digits starting with a letter (shared/settings.py).')
param tablePrefixFollowsTheAppsRule bool
@description('Public network access off: only the private endpoints of network.bicep reach the account.')
param vnetEnabled bool

// The services' tables, declared once in services/tables.json (the app reads the same file and
// would also create a missing table on first use).
var sagaTables = loadJsonContent('../../services/tables.json')

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  //checkov:skip=CKV_AZURE_35: Public network variant only (vnetEnabled=false): the app reaches storage over public endpoints, each request with an Entra ID token (shared keys are off). vnetEnabled=true denies by default.
  //checkov:skip=CKV_AZURE_59: Public network variant only (vnetEnabled=false), as for CKV_AZURE_35; vnetEnabled=true disables public network access and adds private endpoints.
  //checkov:skip=CKV_AZURE_206: Locally redundant storage is the template's cost default; pick Standard_ZRS or Standard_GZRS here in production regions that offer it.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    isLocalUserEnabled: false
    minimumTlsVersion: 'TLS1_2'
    publicNetworkAccess: vnetEnabled ? 'Disabled' : 'Enabled'
    supportsHttpsTrafficOnly: true
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: vnetEnabled ? 'Deny' : 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for table in sagaTables: {
    parent: tableService
    name: '${tablePrefix}${table}'
  }
]

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output tableEndpoint string = storage.properties.primaryEndpoints.table
output deploymentContainerName string = deploymentContainer.name
// The prefix the tables were created with, which the app gets as SAGA_TABLE_PREFIX. Azure refuses a
// false guard before this module deploys, so this is always tablePrefix.
output tablePrefix string = tablePrefixFollowsTheAppsRule ? tablePrefix : ''
