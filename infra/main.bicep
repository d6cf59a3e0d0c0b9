// MlopsFunctions: Azure resources for one environment (resource-group scope).
// Deployed by `azd up` (azure.yaml at the repository root) or by .github/workflows/deploy.yml.
targetScope = 'resourceGroup'

@description('Name of the environment (azd: AZURE_ENV_NAME); prefixes resource names and tags them.')
@minLength(1)
@maxLength(24)
param environmentName string

@description('Azure region of every resource.')
param location string = resourceGroup().location

@description('Extra tags applied to every resource.')
param tags { *: string } = {}

@description('Tunables of the pipeline and serving (Mlops__* settings of the app).')
param mlops {
  @description('Fewest data rows a training run accepts.')
  minRows: int
  @description('Fraction of rows held out for evaluation, as a decimal string (for example "0.2").')
  holdoutFraction: string
  @description('Seed of the training runs.')
  seed: int
  @description('Seconds a serving instance caches the slot pointers.')
  slotCacheSeconds: int
  @description('Hours a manual promotion waits for approval before it rejects.')
  approvalTimeoutHours: int
  @description('Upper bound of the durable queue polling back-off, in seconds.')
  maxQueuePollingSeconds: int
  @description('Largest predict request body in bytes (bigger: 413).')
  maxPredictBodyBytes: int
  @description('Most rows per predict request (more: 413).')
  maxPredictRows: int
  @description('Seconds between appends of captured predictions to blobs.')
  captureFlushSeconds: int
  @description('Captured rows held in memory at most before new ones are dropped and counted.')
  captureQueueRows: int
} = {
  minRows: 20
  holdoutFraction: '0.2'
  seed: 42
  slotCacheSeconds: 2
  approvalTimeoutHours: 72
  maxQueuePollingSeconds: 2
  maxPredictBodyBytes: 4194304
  maxPredictRows: 10000
  captureFlushSeconds: 2
  captureQueueRows: 100000
}

@description('Durable task hub of the production slot.')
param taskHubName string = 'MlopsHub'

@description('Durable task hub of the staging slot (each slot keeps its own hub: the setting is slot-sticky).')
param stagingTaskHubName string = 'MlopsHubStaging'

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var allTags = union(tags, { 'azd-env-name': environmentName })
var functionAppName = 'func-${environmentName}-${resourceToken}'
var identityName = 'id-${environmentName}-${resourceToken}'

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    location: location
    name: identityName
    tags: allTags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    name: 'st${resourceToken}'
    tags: allTags
    identityName: identityName
  }
  dependsOn: [
    identity // the role assignments read the identity's principal id
  ]
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    logAnalyticsName: 'log-${environmentName}-${resourceToken}'
    applicationInsightsName: 'appi-${environmentName}-${resourceToken}'
    tags: allTags
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: 'appi-${environmentName}-${resourceToken}'
  dependsOn: [
    monitoring
  ]
}

module plan 'modules/hosting-plan.bicep' = {
  name: 'hosting-plan'
  params: {
    location: location
    name: 'plan-${environmentName}-${resourceToken}'
    tags: allTags
    skuName: 'EP1'
  }
}

// The one list of app settings, shared by the production app and its staging slot. The host and the app
// reach storage with the managed identity (identity-based connection, no keys: the account refuses them).
var appSettings = {
  AzureWebJobsStorage__blobServiceUri: storage.outputs.blobEndpoint
  AzureWebJobsStorage__queueServiceUri: storage.outputs.queueEndpoint
  AzureWebJobsStorage__tableServiceUri: storage.outputs.tableEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  FUNCTIONS_EXTENSION_VERSION: '~4'
  FUNCTIONS_WORKER_RUNTIME: 'dotnet-isolated'
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
  Mlops__MinRows: string(mlops.minRows)
  Mlops__HoldoutFraction: mlops.holdoutFraction
  Mlops__Seed: string(mlops.seed)
  Mlops__SlotCacheSeconds: string(mlops.slotCacheSeconds)
  Mlops__ApprovalTimeoutHours: string(mlops.approvalTimeoutHours)
  Mlops__MaxQueuePollingSeconds: string(mlops.maxQueuePollingSeconds)
  Mlops__MaxPredictBodyBytes: string(mlops.maxPredictBodyBytes)
  Mlops__MaxPredictRows: string(mlops.maxPredictRows)
  Mlops__CaptureFlushSeconds: string(mlops.captureFlushSeconds)
  Mlops__CaptureQueueRows: string(mlops.captureQueueRows)
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  params: {
    location: location
    name: functionAppName
    tags: allTags
    azdServiceName: 'api'
    planId: plan.outputs.id
    identityId: identity.outputs.id
    appSettings: appSettings
    // Only production reacts to data and schedules: the staging slot serves HTTP for smoke tests, so a
    // deployment in staging never starts a second pipeline run against the shared registry.
    productionSlotSettings: {
      TaskHubName: taskHubName
      'AzureWebJobs.IncomingData.Disabled': 'false'
      'AzureWebJobs.RetrainTimer.Disabled': 'false'
    }
    stagingSlotSettings: {
      TaskHubName: stagingTaskHubName
      'AzureWebJobs.IncomingData.Disabled': 'true'
      'AzureWebJobs.RetrainTimer.Disabled': 'true'
    }
  }
}

@description('Name of the function app.')
output functionAppName string = functionApp.outputs.name

@description('Default host name of the function app (production slot).')
output functionAppHostName string = functionApp.outputs.defaultHostName

@description('Default host name of the staging slot.')
output stagingHostName string = functionApp.outputs.stagingHostName

@description('Name of the storage account.')
output storageAccountName string = storage.outputs.name

@description('Function app name for azd.')
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name

@description('Region, for azd.')
output AZURE_LOCATION string = location
