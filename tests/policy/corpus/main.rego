# The corpus of tests/policy.rs: each rule's findings are expected at exact
# lines of myhealth.toml and the fixtures.
package main

# Reads the config only (docs/policy.md, "Which input a policy reads").
input_kinds := {"config"}

# A key each config sets: in `[defaults]` or the environment's own table.
deny contains {"msg": sprintf("`%s` serves its Kubernetes API publicly", [input.environment]), "key": "eks.endpoint_public_access"} if {
	input.environment == "prod"
	input.settings.eks.endpoint_public_access
}

# A list element: points at the list's setting.
warn_instance contains {"msg": sprintf("node group `%s` runs %s", [name, ng.instance_types[0]]), "key": sprintf("eks.node_groups.%s.instance_types.0", [name])} if {
	input.environment == "dev"
	some name, ng in input.settings.eks.node_groups
}

# No key: a diagnostic without a snippet naming the environment and rule.
violation contains "reviewed by hand" if input.environment == "dev"

# A missing input field: undefined, so no finding (Rego's semantics).
deny_missing contains "never reported" if input.settings.no_such_section.enabled
