// The IAM judge of tests/moto.rs: every AWS call a role made (recorded from
// moto and decoded by calls.py into IAM terms) evaluated against that role's
// real policies — identity, permissions boundary, and the resource's own
// policy (trust policy, key policy, bucket or repository policy) — by
// @cloud-copilot/iam-simulate (a test tool; AGPL, never in the product).
//
// stdin: { "policies": { "<name>": <policy document> },
//          "principals": { "<arn>": { "identity": ["<name>"], "boundary": ["<name>"] } },
//          "requests": [ { "id", "principal", "action", "resource", "account",
//                          "context": {…}, "resource_policy": "<name>"|null } ] }
// stdout: [ { "id", "decision": "Allowed"|"ImplicitlyDenied"|"ExplicitlyDenied"|"Error",
//             "detail", "ignored": [context keys the simulator dropped] } ]
const { runSimulation, getDenialReasons } = require('./shim.cjs')

async function main() {
  let input = ''
  for await (const chunk of process.stdin) input += chunk
  const { policies, principals, requests } = JSON.parse(input)
  const doc = (name) => {
    if (!(name in policies)) throw new Error(`no policy named ${name}`)
    return { name, policy: policies[name] }
  }
  const out = []
  for (const r of requests) {
    const p = principals[r.principal] ?? { identity: [], boundary: [] }
    const simulation = {
      identityPolicies: p.identity.map(doc),
      permissionBoundaryPolicies: p.boundary.length ? p.boundary.map(doc) : undefined,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: r.resource_policy ? policies[r.resource_policy] : undefined,
      request: {
        principal: r.principal,
        action: r.action,
        resource: { resource: r.resource, accountId: r.account },
        contextVariables: r.context ?? {},
      },
    }
    let res
    try {
      res = await runSimulation(simulation, {})
    } catch (e) {
      out.push({ id: r.id, decision: 'Error', detail: String(e) })
      continue
    }
    if (res.resultType === 'error') {
      out.push({ id: r.id, decision: 'Error', detail: res.errors })
      continue
    }
    // A resource with a wildcard (a create) is judged over every match:
    // each result must allow.
    const all = res.resultType === 'single' ? [res.result] : (res.results ?? [])
    const denied = all.find((x) => x?.analysis?.result !== 'Allowed')
    out.push({
      id: r.id,
      decision: res.overallResult,
      detail: res.overallResult === 'Allowed' || !denied ? undefined : getDenialReasons(denied.analysis),
      ignored: all.flatMap((x) => x?.ignoredContextKeys ?? []),
    })
  }
  process.stdout.write(JSON.stringify(out))
}

main().catch((e) => {
  process.stderr.write(String(e.stack ?? e))
  process.exit(2)
})
