# The project's own policies (docs/policy.md): `validate` and `render` evaluate them; `myhealthctl policy test` runs the tests.
package main

# Reads the config only (docs/policy.md, "Which input a policy reads").
input_kinds := {"config"}

deny contains {"msg": "production serves its Kubernetes API with no allow-list", "key": "eks.public_access_cidrs"} if {
	input.production
	input.settings.eks.endpoint_public_access
	count(input.settings.eks.public_access_cidrs) == 0
}

test_public_production_is_denied if {
	count(deny) == 1 with input as {"production": true, "settings": {"eks": {"endpoint_public_access": true, "public_access_cidrs": []}}}
}

test_dev_is_allowed if {
	count(deny) == 0 with input as {"production": false, "settings": {"eks": {"endpoint_public_access": true, "public_access_cidrs": []}}}
}
