# The rendered platform (input 2, docs/policy.md): findings at exact lines of
# the generated files, checked by tests/policy.rs over the default config.
package main

input_kinds := {"kubernetes", "terraform", "workflow"}

# A Terraform root's variable: the line of `endpoint_public_access` in prod's tfvars.
warn_tf contains {"msg": sprintf("%s serves the Kubernetes API publicly", [input.root]), "path": "variables.endpoint_public_access"} if {
	input.kind == "terraform"
	input.environment == "prod"
	input.variables.endpoint_public_access == true
}

# A workflow: the line of the job's `contents: write`.
warn_wf contains {"msg": sprintf("job `%s` of %s writes contents", [name, input.file]), "path": sprintf("workflow.jobs.%s.permissions.contents", [name])} if {
	input.kind == "workflow"
	some name, job in input.workflow.jobs
	job.permissions.contents == "write"
}

# An ArgoCD manifest (one document of a multi-document file): its own line.
warn_argo contains {"msg": sprintf("%s follows `%s`", [input.metadata.name, input.spec.source.targetRevision]), "path": "spec.source.targetRevision"} if {
	input.kind == "Application"
	data.myhealth.environment == "dev"
	input.metadata.name == "kube-prometheus-stack"
}

# A chart object, as Helm renders it with prod's values: the template's line.
deny_replicas contains {"msg": sprintf("%s leaves its replica count to the autoscaler", [input.metadata.name]), "path": "spec.replicas"} if {
	input.kind == "Deployment"
	data.myhealth.production
	not input.spec.replicas
}
