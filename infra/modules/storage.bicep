// The shared data account: the registry (Tables), the product's blob containers, the durable task hub, and the
// pipeline app's host storage (AzureWebJobsStorage). Shared-key access is disabled: every client signs in with
// Microsoft Entra ID. Only the pipeline identity can write here; the serving identity reads the registry and the
// models, and writes only its own two containers (captured predictions and feedback).

@description('Azure region of the storage account.')
param location string

@description('Name of the storage account (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Tags applied to the storage account.')
param tags { *: string }

@description('Name of the pipeline app\'s user-assigned identity (same resource group): full data access (this is also that app\'s host storage).')
param pipelineIdentityName string

@description('Name of the serving app\'s user-assigned identity (same resource group): reads, plus writes to its own containers only.')
param servingIdentityName string

@description('Blob containers of the storage contract (DESIGN.md section 4); created here so no app needs the right to create them.')
param containerNames string[] = [
  'incoming'
  'datasets'
  'rejected'
  'models'
  'captured'
  'feedback'
]

@description('The registry table, created here so the serving app can read it before the pipeline app first starts.')
param registryTableName string = 'MlopsRegistry'

// Built-in role definition ids (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  storageTableDataReader: '76199698-9eea-4c19-bc75-cec21354c6b6'
}

// What the pipeline app holds on the whole account: it is the Functions host storage of that app (keys, locks, blob
// trigger receipts, the durable task hub's queues and tables) and the writer of the registry and every data container.
var pipelineAccountRoles = [
  roles.storageBlobDataOwner
  roles.storageQueueDataContributor
  roles.storageTableDataContributor
]

// The serving app writes captured predictions and feedback, nothing else; container scope keeps it out of the rest.
var servingWritableContainers = [
  'captured'
  'feedback'
]

resource pipelineIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: pipelineIdentityName
}

resource servingIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: servingIdentityName
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
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
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
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
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for containerName in containerNames: {
    parent: blobService
    name: containerName
    properties: {
      publicAccess: 'None'
    }
  }
]

resource registryTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: registryTableName
}

resource modelsContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: 'models'
}

resource servingContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = [
  for containerName in servingWritableContainers: {
    parent: blobService
    name: containerName
  }
]

resource pipelineAccountAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in pipelineAccountRoles: {
    name: guid(storage.id, pipelineIdentity.id, roleId)
    scope: storage
    properties: {
      principalId: pipelineIdentity.properties.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    }
  }
]

// Reading every table (registry, durable task hub history for GET /api/runs) writes nothing; health lists tables.
resource servingTableRead 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, servingIdentity.id, roles.storageTableDataReader)
  scope: storage
  properties: {
    principalId: servingIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataReader)
  }
}

// Serving loads model files and reads nothing else of the data (no datasets, no incoming files).
resource servingModelsRead 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(modelsContainer.id, servingIdentity.id, roles.storageBlobDataReader)
  scope: modelsContainer
  properties: {
    principalId: servingIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataReader)
  }
  dependsOn: [
    containers
  ]
}

resource servingContainerWrite 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (containerName, i) in servingWritableContainers: {
    name: guid(servingContainers[i].id, servingIdentity.id, roles.storageBlobDataContributor)
    scope: servingContainers[i]
    properties: {
      principalId: servingIdentity.properties.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    }
    dependsOn: [
      containers
    ]
  }
]

@description('Name of the storage account.')
output name string = storage.name

@description('Resource id of the storage account.')
output id string = storage.id

@description('Blob service endpoint.')
output blobEndpoint string = storage.properties.primaryEndpoints.blob

@description('Queue service endpoint.')
output queueEndpoint string = storage.properties.primaryEndpoints.queue

@description('Table service endpoint.')
output tableEndpoint string = storage.properties.primaryEndpoints.table

@description('Name of the registry table.')
output registryTableName string = registryTable.name
