# Plan policies (input 3, docs/policy.md): `plan ENV` evaluates them over
# `terraform show -json` of the saved plan and the environment's cost.
# tests/moto.rs plans dev with them; `policy test` runs the tests below.
package main

input_kinds := {"plan"}

creates := [rc.address | some rc in input.plan.resource_changes; rc.change.actions == ["create"]]

warn_creates contains msg if {
	count(creates) > 0
	msg := sprintf("`%s`: the plan creates %d resources (estimated $%.2f a month)", [input.environment, count(creates), input.cost.monthly_usd])
}

# A database is never deleted by a plan a policy did not see.
deny_database_delete contains {"msg": sprintf("the plan deletes the database `%s`", [rc.address]), "path": sprintf("plan.resource_changes.%d", [i])} if {
	some i, rc in input.plan.resource_changes
	rc.type == "aws_db_instance"
	"delete" in rc.change.actions
}

test_creates_are_counted if {
	warn_creates == {"`dev`: the plan creates 1 resources (estimated $10.25 a month)"} with input as {
		"kind": "plan", "environment": "dev", "cost": {"monthly_usd": 10.25},
		"plan": {"resource_changes": [{"address": "aws_s3_bucket.a", "type": "aws_s3_bucket", "change": {"actions": ["create"]}}]},
	}
}

test_a_database_delete_is_denied if {
	count(deny_database_delete) == 1 with input as {
		"kind": "plan", "environment": "prod", "cost": {"monthly_usd": 10},
		"plan": {"resource_changes": [{"address": "module.rds.aws_db_instance.this", "type": "aws_db_instance", "change": {"actions": ["delete", "create"]}}]},
	}
}
