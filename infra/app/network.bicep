// Only with vnetEnabled: a virtual network with a subnet the Flex Consumption app is integrated
// into and a subnet for private endpoints; a private endpoint for each storage service the app
// uses (blob: host and deployment package; queue: durable work items; table: the saga's tables and
// the durable history), and a private DNS zone for each, linked to the network, so that the
// account's usual names resolve to those endpoints from inside it. storage.bicep turns the
// account's public network access off in the same deployment.

param name string
param location string
param tags object
@description('Name prefix of the two network security groups (abbreviations.json).')
param securityGroupPrefix string
@description('Name prefix of the private endpoints (abbreviations.json).')
param privateEndpointPrefix string
param storageAccountName string

var addressSpace = '10.0.0.0/16'
var appSubnetName = 'snet-app'
var appSubnetPrefix = '10.0.1.0/24'
var privateEndpointSubnetName = 'snet-private-endpoints'
var privateEndpointSubnetPrefix = '10.0.2.0/24'
// The storage services reached through private endpoints; each is the endpoint's group id and
// names its DNS zone (privatelink.<service>.core.windows.net in the public cloud).
var storageServices = [
  'blob'
  'queue'
  'table'
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

// No rules of their own: the platform defaults allow traffic inside the network and deny inbound
// traffic from the internet; each subnet gets its own group so rules can be added per subnet.
resource appSecurityGroup 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: '${securityGroupPrefix}${appSubnetName}-${name}'
  location: location
  tags: tags
}

resource privateEndpointSecurityGroup 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: '${securityGroupPrefix}${privateEndpointSubnetName}-${name}'
  location: location
  tags: tags
}

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressSpace
      ]
    }
    // Declared inline, so a later deployment of the network never removes them.
    subnets: [
      {
        name: appSubnetName
        properties: {
          addressPrefix: appSubnetPrefix
          networkSecurityGroup: {
            id: appSecurityGroup.id
          }
          // Flex Consumption integrates into a subnet delegated to Microsoft.App/environments.
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
          // Explicit: the app still calls public endpoints (Application Insights, Entra ID, the
          // Durable Task Scheduler). For a fixed egress address, attach a NAT gateway and set false.
          defaultOutboundAccess: true
        }
      }
      {
        name: privateEndpointSubnetName
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          networkSecurityGroup: {
            id: privateEndpointSecurityGroup.id
          }
          privateEndpointNetworkPolicies: 'Disabled'
          defaultOutboundAccess: false
        }
      }
    ]
  }
}

resource appSubnet 'Microsoft.Network/virtualNetworks/subnets@2024-05-01' existing = {
  parent: vnet
  name: appSubnetName
}

resource privateEndpointSubnet 'Microsoft.Network/virtualNetworks/subnets@2024-05-01' existing = {
  parent: vnet
  name: privateEndpointSubnetName
}

resource dnsZones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for service in storageServices: {
    name: 'privatelink.${service}.${environment().suffixes.storage}'
    location: 'global'
    tags: tags
  }
]

resource dnsZoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (service, i) in storageServices: {
    parent: dnsZones[i]
    name: vnet.name
    location: 'global'
    tags: tags
    properties: {
      registrationEnabled: false
      virtualNetwork: {
        id: vnet.id
      }
    }
  }
]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2024-05-01' = [
  for service in storageServices: {
    name: '${privateEndpointPrefix}${storageAccountName}-${service}'
    location: location
    tags: tags
    properties: {
      subnet: {
        id: privateEndpointSubnet.id
      }
      privateLinkServiceConnections: [
        {
          name: '${storageAccountName}-${service}'
          properties: {
            privateLinkServiceId: storage.id
            groupIds: [
              service
            ]
          }
        }
      ]
    }
  }
]

// Registers each endpoint's address in its zone (the A record the app's lookups find).
resource privateDnsZoneGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = [
  for (service, i) in storageServices: {
    parent: privateEndpoints[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: service
          properties: {
            privateDnsZoneId: dnsZones[i].id
          }
        }
      ]
    }
  }
]

output name string = vnet.name
output appSubnetId string = appSubnet.id
