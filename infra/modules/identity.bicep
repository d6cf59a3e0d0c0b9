// The user-assigned managed identity the function app (both slots) runs as.

@description('Azure region of the identity.')
param location string

@description('Name of the user-assigned managed identity.')
param name string

@description('Tags applied to the identity.')
param tags { *: string }

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

@description('Resource id of the identity (for the sites\' identity block).')
output id string = identity.id

@description('Client id of the identity (AzureWebJobsStorage__clientId).')
output clientId string = identity.properties.clientId

@description('Principal (object) id of the identity (for role assignments).')
output principalId string = identity.properties.principalId

@description('Name of the identity.')
output name string = identity.name
