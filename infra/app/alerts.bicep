// The alert that calls a person when a saga waits for one: a log search rule over Application
// Insights that fires for each saga entering NeedsAttention (the engine logs a warning with
// customDimensions.outcome "NeedsAttention", see docs/deploy.md). The rule runs its query as its
// own system-assigned identity, which rbac.bicep lets read the component: no key anywhere.

param name string
param location string
param tags object
param applicationInsightsName string
@description('Name of the action group that emails alertEmail; unused when alertEmail is empty.')
param actionGroupName string
@description('Address the alert is emailed to; empty creates no action group (the alert still shows under Alerts in the portal).')
param alertEmail string

// One row per record of a saga entering NeedsAttention; the rule splits by sagaId, so each saga
// raises its own alert, which resolves once its window holds no new record.
var needsAttentionQuery = '''
traces
| where tostring(customDimensions.outcome) == "NeedsAttention"
| extend sagaId = tostring(customDimensions.sagaId)
| project timestamp, sagaId, step = tostring(customDimensions.step), code = tostring(customDimensions.code), message
'''

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource operators 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: actionGroupName
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'saga-ops'
    enabled: true
    emailReceivers: [
      {
        name: 'operator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

resource needsAttention 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: name
  location: location
  tags: tags
  kind: 'LogAlert'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    displayName: 'A saga needs attention'
    description: 'A saga entered NeedsAttention: an operator must fix the named step, then retry it (docs/deploy.md, "Sagas waiting for a person").'
    severity: 2
    enabled: true
    scopes: [
      applicationInsights.id
    ]
    // The window is twice the frequency so a record ingested a few minutes late is still seen;
    // autoMitigate keeps a saga's alert from firing twice for the same record.
    evaluationFrequency: 'PT5M'
    windowSize: 'PT10M'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: needsAttentionQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          dimensions: [
            {
              name: 'sagaId'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: empty(alertEmail) ? [] : [
        operators.id
      ]
    }
  }
}

output name string = needsAttention.name
output principalId string = needsAttention.identity.principalId
