// The storage account shared by the Functions host (AzureWebJobsStorage, the deployment package,
// the durable task hub) and the saga's own tables. Reachable with Entra ID tokens only.

param name string
param location string
param tags object
@description('Blob container that Flex Consumption deploys the app package into.')
param deploymentContainerName string
@description('Prefix of every saga table name (SAGA_TABLE_PREFIX).')
param tablePrefix string

// The services' tables, declared once in services/tables.json (the app reads the same file and
// would also create a missing table on first use).
var sagaTables = loadJsonContent('../../services/tables.json')

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  //checkov:skip=CKV_AZURE_35: Flex Consumption without virtual-network integration reaches storage over public endpoints; every request still needs an Entra ID token because shared keys are off.
  //checkov:skip=CKV_AZURE_59: Same as CKV_AZURE_35: public network access stays on until a virtual network with private endpoints is added.
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
    publicNetworkAccess: 'Enabled'
    supportsHttpsTrafficOnly: true
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
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
