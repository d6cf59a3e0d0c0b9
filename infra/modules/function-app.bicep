// Linux function app (.NET isolated) on an Elastic Premium plan, with a `staging` deployment slot configured
// the same way. Both run as the user-assigned identity. Settings named in the slot settings objects are
// slot-sticky (they stay with the slot when code is swapped). Used twice: the serving app and the pipeline app.

@description('Azure region of the app.')
param location string

@description('Name of the function app.')
param name string

@description('Tags applied to the app and its slot (the app also gets `azd-service-name`).')
param tags { *: string }

@description('Name of the azd service deployed to this app (azure.yaml).')
param azdServiceName string = 'api'

@description('Resource id of the Elastic Premium plan.')
param planId string

@description('Resource id of the user-assigned managed identity.')
param identityId string

@description('App settings shared by production and the staging slot.')
param appSettings { *: string }

@description('Slot-sticky settings of the production slot; its names are marked sticky.')
param productionSlotSettings { *: string }

@description('Slot-sticky settings of the staging slot (same names as productionSlotSettings).')
param stagingSlotSettings { *: string }

@description('Name of the deployment slot that receives new code before it is swapped into production.')
param stagingSlotName string = 'staging'

@description('Path the platform probes to take unhealthy instances out of rotation.')
param healthCheckPath string = '/api/health'

@description('Most instances this app scales out to on its plan.')
@minValue(1)
@maxValue(100)
param functionAppScaleLimit int

@description('Instances kept always ready (no cold start).')
@minValue(1)
@maxValue(20)
param minimumElasticInstanceCount int = 1

@description('Let the Functions runtime report scale needs (required for queue, blob and durable triggers reached with a managed identity).')
param runtimeScaleMonitoring bool = false

var siteIdentity resourceInput<'Microsoft.Web/sites@2024-04-01'>.identity = {
  type: 'UserAssigned'
  userAssignedIdentities: {
    '${identityId}': {}
  }
}

// Everything but the app settings, identical for the app and its slot.
var siteConfigBase resourceInput<'Microsoft.Web/sites@2024-04-01'>.properties.siteConfig = {
  linuxFxVersion: 'DOTNET-ISOLATED|10.0'
  ftpsState: 'Disabled'
  minTlsVersion: '1.2'
  scmMinTlsVersion: '1.2'
  http20Enabled: true
  healthCheckPath: healthCheckPath
  minimumElasticInstanceCount: minimumElasticInstanceCount
  functionAppScaleLimit: functionAppScaleLimit
  functionsRuntimeScaleMonitoringEnabled: runtimeScaleMonitoring
}

var productionSettings = map(items(union(appSettings, productionSlotSettings)), s => { name: s.key, value: s.value })
var stagingSettings = map(items(union(appSettings, stagingSlotSettings)), s => { name: s.key, value: s.value })

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': azdServiceName })
  kind: 'functionapp,linux'
  identity: siteIdentity
  properties: {
    serverFarmId: planId
    reserved: true
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      ...siteConfigBase
      appSettings: productionSettings
    }
  }
}

resource stagingSlot 'Microsoft.Web/sites/slots@2024-04-01' = {
  parent: functionApp
  name: stagingSlotName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: siteIdentity
  properties: {
    serverFarmId: planId
    reserved: true
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      ...siteConfigBase
      appSettings: stagingSettings
    }
  }
}

// Settings listed here stay with their slot on a swap: each slot keeps its own durable task hub.
resource slotConfigNames 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'slotConfigNames'
  properties: {
    appSettingNames: objectKeys(productionSlotSettings)
  }
}

@description('Name of the function app.')
output name string = functionApp.name

@description('Default host name of the production slot.')
output defaultHostName string = functionApp.properties.defaultHostName

@description('Default host name of the staging slot.')
output stagingHostName string = stagingSlot.properties.defaultHostName

@description('Name of the staging slot.')
output stagingSlotName string = stagingSlot.name
