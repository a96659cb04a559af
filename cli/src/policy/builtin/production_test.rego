# The built-in production rules' own tests (run by a unit test of
# `policy::builtin`, as `myhealthctl policy test` runs a user's).
package myhealth.builtin.production_test

import data.myhealth.builtin.production

# A production environment that passes every rule.
good := {
	"environment": "prod",
	"production": true,
	"settings": {
		"rds": {"multi_az": true, "deletion_protection": true, "backup_retention_days": 7},
		"eks": {
			"endpoint_public_access": true,
			"public_access_cidrs": ["203.0.113.0/24"],
			"log_types": ["api", "audit", "authenticator", "controllerManager", "scheduler"],
		},
		"network": {"nat": "per_az"},
		"ecr": {"image_tag_mutability": "IMMUTABLE"},
	},
	"sources": {"eks.public_access_cidrs": {"layer": "environment"}},
}

test_a_good_production_environment_passes if {
	count(production.deny_rds_multi_az | production.deny_rds_deletion_protection | production.deny_rds_backup_retention | production.deny_eks_public_endpoint | production.deny_eks_log_types | production.deny_nat_per_az | production.deny_ecr_immutable_tags) == 0 with input as good
}

test_single_az_is_denied if {
	fs := production.deny_rds_multi_az with input as object.union(good, {"settings": {"rds": {"multi_az": false}}})
	some f in fs
	f.key == "rds.multi_az"
	f.msg == "policy: `prod` is a production environment but its database is single-AZ"
}

test_no_deletion_protection_is_denied if {
	count(production.deny_rds_deletion_protection) == 1 with input as object.union(good, {"settings": {"rds": {"deletion_protection": false}}})
}

test_six_days_of_backups_are_denied if {
	fs := production.deny_rds_backup_retention with input as object.union(good, {"settings": {"rds": {"backup_retention_days": 6}}})
	some f in fs
	f.msg == "policy: `prod` is a production environment but keeps database backups only 6 days"
}

test_an_open_endpoint_points_at_the_element if {
	fs := production.deny_eks_public_endpoint with input as object.union(good, {"settings": {"eks": {"public_access_cidrs": ["203.0.113.0/24", "0.0.0.0/0"]}}})
	some f in fs
	f.key == "eks.public_access_cidrs.1"
}

# The element's key either way: where the list is the built-in default,
# the diagnostic shows the list at the environment's table (`policy::findings`).
test_an_open_default_endpoint_names_the_element if {
	fs := production.deny_eks_public_endpoint with input as object.union(good, {"settings": {"eks": {"public_access_cidrs": ["0.0.0.0/0"]}}})
	some f in fs
	f.key == "eks.public_access_cidrs.0"
}

test_a_private_endpoint_may_list_anything if {
	count(production.deny_eks_public_endpoint) == 0 with input as object.union(good, {"settings": {"eks": {"endpoint_public_access": false, "public_access_cidrs": ["0.0.0.0/0"]}}})
}

test_missing_log_types_are_named_in_order if {
	fs := production.deny_eks_log_types with input as object.union(good, {"settings": {"eks": {"log_types": ["audit", "api"]}}})
	some f in fs
	f.msg == "policy: `prod` is a production environment but its control plane does not log `authenticator`, `controllerManager`, `scheduler`"
}

test_a_single_nat_is_denied if {
	count(production.deny_nat_per_az) == 1 with input as object.union(good, {"settings": {"network": {"nat": "single"}}})
}

test_mutable_tags_are_denied if {
	count(production.deny_ecr_immutable_tags) == 1 with input as object.union(good, {"settings": {"ecr": {"image_tag_mutability": "MUTABLE"}}})
}

test_a_development_environment_is_free if {
	bad := object.union(good, {"production": false, "settings": {"rds": {"multi_az": false}, "network": {"nat": "single"}}})
	count(production.deny_rds_multi_az | production.deny_nat_per_az) == 0 with input as bad
}
