// The one user-assigned identity the function app uses for storage, monitoring and the scheduler.
// User-assigned (not system-assigned) so its roles exist before the app starts and outlive it.

param name string
param location string
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
