// Elastic Premium Linux plan: pre-warmed instances, no cold start, deployment slots, event- and HTTP-driven scale out.

@description('Azure region of the plan.')
param location string

@description('Name of the App Service plan.')
param name string

@description('Tags applied to the plan.')
param tags { *: string }

@description('Elastic Premium SKU.')
@allowed([
  'EP1'
  'EP2'
  'EP3'
])
param skuName string = 'EP1'

@description('Upper bound of instances the plan scales out to.')
@minValue(1)
@maxValue(100)
param maximumElasticWorkerCount int = 20

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'elastic'
  sku: {
    name: skuName
    tier: 'ElasticPremium'
    family: 'EP'
  }
  properties: {
    reserved: true // Linux
    maximumElasticWorkerCount: maximumElasticWorkerCount
  }
}

@description('Resource id of the plan.')
output id string = plan.id
