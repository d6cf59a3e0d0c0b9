// MlopsFunctions: Azure resources for one environment (resource-group scope).
// Two function apps run the same package: a serving app (predictions and reads, scales on requests) and a
// pipeline app (triggers, durable worker, admin routes, sized for training), so training never shares a box
// with serving. Both share the data account (registry tables, blobs, task hub); only the pipeline can write it.
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

@description('Tunables of the pipeline and serving (Mlops__* settings of both apps).')
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
  @description('Fraction of rows that choose between candidates, as a decimal string (for example "0.1").')
  validationFraction: string
  @description('Threads a trainer may use (0: all cores but one).')
  trainerThreads: int
  @description('Where candidates train: auto, process or inprocess.')
  trainerIsolation: string
  @description('Training rows above which auto isolation trains in a child process.')
  trainerProcessRows: int
  @description('Managed heap limit of a trainer child process in MiB (0: none).')
  trainerMemoryMegabytes: int
  @description('Worker children kept started and warmed for the next isolated validation, training or evaluation (0: none).')
  spareWorkers: int
  @description('Largest CSV accepted, in MiB.')
  maxFileMegabytes: int
  @description('Most columns a CSV header may have.')
  maxColumns: int
  @description('Longest CSV line, in KiB.')
  maxLineKilobytes: int
  @description('Most distinct values of a categorical column.')
  maxCategories: int
  @description('Largest predict request body in bytes (bigger: 413).')
  maxPredictBodyBytes: int
  @description('Most rows per predict request (more: 413).')
  maxPredictRows: int
  @description('Seconds between appends of captured predictions to blobs.')
  captureFlushSeconds: int
  @description('Captured rows held in memory at most before new ones are dropped and counted.')
  captureQueueRows: int
  @description('Seconds between re-reads of the model list by the monitor (a model new in production waits at most this long for its first check).')
  monitorListSeconds: int
  @description('Extra local exporters of traces and metrics: none, console, otlp or console,otlp (Azure Monitor is always on, through APPLICATIONINSIGHTS_CONNECTION_STRING).')
  telemetry: string
} = {
  minRows: 20
  holdoutFraction: '0.2'
  seed: 42
  slotCacheSeconds: 2
  approvalTimeoutHours: 72
  maxQueuePollingSeconds: 2
  validationFraction: '0.1'
  trainerThreads: 0
  trainerIsolation: 'auto'
  trainerProcessRows: 50000
  trainerMemoryMegabytes: 0
  spareWorkers: 4
  maxFileMegabytes: 2048
  maxColumns: 1000
  maxLineKilobytes: 1024
  maxCategories: 1000
  maxPredictBodyBytes: 4194304
  maxPredictRows: 10000
  captureFlushSeconds: 2
  captureQueueRows: 100000
  monitorListSeconds: 30
  telemetry: 'none'
}

@description('Durable task hub of the pipeline app\'s production slot; the serving app reads runs from it.')
param taskHubName string = 'MlopsHub'

@description('Durable task hub of the pipeline app\'s staging slot (each slot keeps its own hub: the setting is slot-sticky).')
param stagingTaskHubName string = 'MlopsHubStaging'

@description('Elastic Premium SKU of the serving plan: predictions are light, instances are added on request load.')
@allowed([
  'EP1'
  'EP2'
  'EP3'
])
param servingSku string = 'EP1'

@description('Most instances the serving app scales out to.')
@minValue(1)
@maxValue(100)
param servingMaxInstances int = 20

@description('Elastic Premium SKU of the pipeline plan, sized for training memory (EP2: 7 GB, EP3: 14 GB per instance).')
@allowed([
  'EP1'
  'EP2'
  'EP3'
])
param pipelineSku string = 'EP2'

@description('Most instances the pipeline app scales out to (each trains its own runs).')
@minValue(1)
@maxValue(20)
param pipelineMaxInstances int = 3

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var allTags = union(tags, { 'azd-env-name': environmentName })
var servingAppName = 'func-srv-${environmentName}-${resourceToken}'
var pipelineAppName = 'func-pipe-${environmentName}-${resourceToken}'
var servingIdentityName = 'id-srv-${environmentName}-${resourceToken}'
var pipelineIdentityName = 'id-pipe-${environmentName}-${resourceToken}'

// What each app runs. Mlops__Role makes the code register only its role's work (a serving app registers no durable
// task); the AzureWebJobs.<function>.Disabled settings make the Functions host run none of the other role's functions.
// The lists mirror the [Role] declarations next to each [Function] and the durable tasks of AddMlopsTasks:
// tests/MlopsFunctions.Tests/Unit/InfraTemplateTests.cs compares them with the code, so they cannot drift apart.
var servingRoleSettings = {
  Mlops__Role: 'serving'
  'AzureWebJobs.IncomingData.Disabled': 'true'
  'AzureWebJobs.RetrainTimer.Disabled': 'true'
  'AzureWebJobs.MonitorTimer.Disabled': 'true'
  'AzureWebJobs.PutModelSpec.Disabled': 'true'
  'AzureWebJobs.SwapSlots.Disabled': 'true'
  'AzureWebJobs.Rollback.Disabled': 'true'
  'AzureWebJobs.ApproveVersion.Disabled': 'true'
  'AzureWebJobs.RejectVersion.Disabled': 'true'
  'AzureWebJobs.RetrainModel.Disabled': 'true'
  'AzureWebJobs.TrainingPipeline.Disabled': 'true'
  'AzureWebJobs.StartRunActivity.Disabled': 'true'
  'AzureWebJobs.ValidateDataActivity.Disabled': 'true'
  'AzureWebJobs.PrepareTrainingActivity.Disabled': 'true'
  'AzureWebJobs.TrainCandidateActivity.Disabled': 'true'
  'AzureWebJobs.EvaluateModelActivity.Disabled': 'true'
  'AzureWebJobs.RegisterModelActivity.Disabled': 'true'
  'AzureWebJobs.StageModelActivity.Disabled': 'true'
  'AzureWebJobs.PromoteModelActivity.Disabled': 'true'
  'AzureWebJobs.DeclineModelActivity.Disabled': 'true'
  'AzureWebJobs.SetVersionStatusActivity.Disabled': 'true'
  'AzureWebJobs.FinishRunActivity.Disabled': 'true'
}

var pipelineRoleSettings = {
  Mlops__Role: 'pipeline'
  'AzureWebJobs.Predict.Disabled': 'true'
  'AzureWebJobs.PostFeedback.Disabled': 'true'
}

module pipelineIdentity 'modules/identity.bicep' = {
  name: 'pipeline-identity'
  params: {
    location: location
    name: pipelineIdentityName
    tags: allTags
  }
}

module servingIdentity 'modules/identity.bicep' = {
  name: 'serving-identity'
  params: {
    location: location
    name: servingIdentityName
    tags: allTags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    name: 'st${resourceToken}'
    tags: allTags
    pipelineIdentityName: pipelineIdentityName
    servingIdentityName: servingIdentityName
  }
  dependsOn: [
    pipelineIdentity // the role assignments read the identities' principal ids
    servingIdentity
  ]
}

module servingHostStorage 'modules/host-storage.bicep' = {
  name: 'serving-host-storage'
  params: {
    location: location
    name: 'stsrv${resourceToken}'
    tags: allTags
    identityName: servingIdentityName
  }
  dependsOn: [
    servingIdentity
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

module servingPlan 'modules/hosting-plan.bicep' = {
  name: 'serving-plan'
  params: {
    location: location
    name: 'plan-srv-${environmentName}-${resourceToken}'
    tags: allTags
    skuName: servingSku
    maximumElasticWorkerCount: servingMaxInstances
  }
}

module pipelinePlan 'modules/hosting-plan.bicep' = {
  name: 'pipeline-plan'
  params: {
    location: location
    name: 'plan-pipe-${environmentName}-${resourceToken}'
    tags: allTags
    skuName: pipelineSku
    maximumElasticWorkerCount: pipelineMaxInstances
  }
}

// Settings both apps share. Both report to the same Application Insights (each under its own cloud role name, the
// app's name), so one application map shows a prediction and the run that produced its model. The same connection string
// turns on the worker's OpenTelemetry export to Azure Monitor (MlopsTelemetry): one trace per pipeline run, prediction
// spans, and the mlops.* metrics.
var commonSettings = {
  FUNCTIONS_EXTENSION_VERSION: '~4'
  FUNCTIONS_WORKER_RUNTIME: 'dotnet-isolated'
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
  Mlops__MinRows: string(mlops.minRows)
  Mlops__HoldoutFraction: mlops.holdoutFraction
  Mlops__Seed: string(mlops.seed)
  Mlops__SlotCacheSeconds: string(mlops.slotCacheSeconds)
  Mlops__ApprovalTimeoutHours: string(mlops.approvalTimeoutHours)
  Mlops__MaxQueuePollingSeconds: string(mlops.maxQueuePollingSeconds)
  Mlops__ValidationFraction: mlops.validationFraction
  Mlops__TrainerThreads: string(mlops.trainerThreads)
  Mlops__TrainerIsolation: mlops.trainerIsolation
  Mlops__TrainerProcessRows: string(mlops.trainerProcessRows)
  Mlops__TrainerMemoryMegabytes: string(mlops.trainerMemoryMegabytes)
  Mlops__SpareWorkers: string(mlops.spareWorkers)
  Mlops__MaxFileMegabytes: string(mlops.maxFileMegabytes)
  Mlops__MaxColumns: string(mlops.maxColumns)
  Mlops__MaxLineKilobytes: string(mlops.maxLineKilobytes)
  Mlops__MaxCategories: string(mlops.maxCategories)
  Mlops__MaxPredictBodyBytes: string(mlops.maxPredictBodyBytes)
  Mlops__MaxPredictRows: string(mlops.maxPredictRows)
  Mlops__CaptureFlushSeconds: string(mlops.captureFlushSeconds)
  Mlops__CaptureQueueRows: string(mlops.captureQueueRows)
  Mlops__MonitorListSeconds: string(mlops.monitorListSeconds)
  Mlops__Telemetry: mlops.telemetry
}

// The pipeline app: the data account is its host storage (blob trigger on incoming/, task hub) and its data
// (MlopsStorage, which host.json also names for the durable task hub). Identity-based, no keys anywhere.
var pipelineSettings = union(commonSettings, pipelineRoleSettings, {
  AzureWebJobsStorage__blobServiceUri: storage.outputs.blobEndpoint
  AzureWebJobsStorage__queueServiceUri: storage.outputs.queueEndpoint
  AzureWebJobsStorage__tableServiceUri: storage.outputs.tableEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: pipelineIdentity.outputs.clientId
  MlopsStorage__blobServiceUri: storage.outputs.blobEndpoint
  MlopsStorage__queueServiceUri: storage.outputs.queueEndpoint
  MlopsStorage__tableServiceUri: storage.outputs.tableEndpoint
  MlopsStorage__credential: 'managedidentity'
  MlopsStorage__clientId: pipelineIdentity.outputs.clientId
})

// The serving app: its own host storage, and the data account through MlopsStorage with read roles only.
var servingSettings = union(commonSettings, servingRoleSettings, {
  AzureWebJobsStorage__blobServiceUri: servingHostStorage.outputs.blobEndpoint
  AzureWebJobsStorage__queueServiceUri: servingHostStorage.outputs.queueEndpoint
  AzureWebJobsStorage__tableServiceUri: servingHostStorage.outputs.tableEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: servingIdentity.outputs.clientId
  MlopsStorage__blobServiceUri: storage.outputs.blobEndpoint
  MlopsStorage__queueServiceUri: storage.outputs.queueEndpoint
  MlopsStorage__tableServiceUri: storage.outputs.tableEndpoint
  MlopsStorage__credential: 'managedidentity'
  MlopsStorage__clientId: servingIdentity.outputs.clientId
})

module pipelineApp 'modules/function-app.bicep' = {
  name: 'pipeline-app'
  params: {
    location: location
    name: pipelineAppName
    tags: allTags
    azdServiceName: 'pipeline'
    planId: pipelinePlan.outputs.id
    identityId: pipelineIdentity.outputs.id
    appSettings: pipelineSettings
    functionAppScaleLimit: pipelineMaxInstances
    runtimeScaleMonitoring: true // blob and durable triggers reached with a managed identity
    // Only production reacts to data and schedules: the staging slot serves HTTP for smoke tests, so a
    // deployment in staging never starts a second pipeline run against the shared registry.
    productionSlotSettings: {
      TaskHubName: taskHubName
      'AzureWebJobs.IncomingData.Disabled': 'false'
      'AzureWebJobs.RetrainTimer.Disabled': 'false'
      'AzureWebJobs.MonitorTimer.Disabled': 'false'
    }
    stagingSlotSettings: {
      TaskHubName: stagingTaskHubName
      'AzureWebJobs.IncomingData.Disabled': 'true'
      'AzureWebJobs.RetrainTimer.Disabled': 'true'
      'AzureWebJobs.MonitorTimer.Disabled': 'true'
    }
  }
}

module servingApp 'modules/function-app.bicep' = {
  name: 'serving-app'
  params: {
    location: location
    name: servingAppName
    tags: allTags
    azdServiceName: 'serving'
    planId: servingPlan.outputs.id
    identityId: servingIdentity.outputs.id
    appSettings: servingSettings
    functionAppScaleLimit: servingMaxInstances
    // Both slots read runs from the pipeline's production hub; they never work it (no durable task is registered or
    // enabled, and the serving identity has no queue role on the data account, where the hub's work items wait).
    productionSlotSettings: {
      TaskHubName: taskHubName
    }
    stagingSlotSettings: {
      TaskHubName: taskHubName
    }
  }
}

@description('Name of the serving function app.')
output servingAppName string = servingApp.outputs.name

@description('Default host name of the serving app (production slot).')
output servingHostName string = servingApp.outputs.defaultHostName

@description('Default host name of the serving app\'s staging slot.')
output servingStagingHostName string = servingApp.outputs.stagingHostName

@description('Name of the pipeline function app.')
output pipelineAppName string = pipelineApp.outputs.name

@description('Default host name of the pipeline app (production slot).')
output pipelineHostName string = pipelineApp.outputs.defaultHostName

@description('Default host name of the pipeline app\'s staging slot.')
output pipelineStagingHostName string = pipelineApp.outputs.stagingHostName

@description('Name of the shared data storage account (registry, blobs, task hub).')
output storageAccountName string = storage.outputs.name

@description('Name of the serving app\'s own host storage account.')
output servingHostStorageAccountName string = servingHostStorage.outputs.name

@description('Region, for azd.')
output AZURE_LOCATION string = location
