# myhealthctl's built-in production rules (docs/policy.md, "Built-in rules"):
# what a production environment — `production = true`, the default for one
# named `prod` or `production` — may not turn off. Shipped in the binary and
# evaluated on every `validate` and `render`, whatever `--namespace` says.
# Disable one by name in `myhealth.toml`:
#
#     [policy]
#     disable = ["myhealth.builtin.production.deny_nat_per_az"]
#
# or replace them all with a module of your own declaring this package.
# Each finding names the config `key` it is about (the diagnostic points at
# the line that set it) and a `help` (the fix).
package myhealth.builtin.production

# Only the config input (one environment of myhealth.toml).
input_kinds := {"config"}

# Every rule is about a production environment: the others' inputs are not made.
input_environments := "production"

# Every EKS control-plane log type, in AWS's order.
eks_log_types := ["api", "audit", "authenticator", "controllerManager", "scheduler"]

env := input.environment

why := sprintf("`%s` is a production environment", [env])

# The database survives the loss of an availability zone.
deny_rds_multi_az contains {
	"msg": sprintf("policy: %s but its database is single-AZ", [why]),
	"key": "rds.multi_az",
	"help": sprintf("set `multi_az = true` in `[environments.%s.rds]` (or `production = false` if it is not production)", [env]),
} if {
	input.production
	input.settings.rds.multi_az == false
}

# The database cannot be deleted by a plan that replaces it.
deny_rds_deletion_protection contains {
	"msg": sprintf("policy: %s but its database has no deletion protection", [why]),
	"key": "rds.deletion_protection",
	"help": sprintf("set `deletion_protection = true` in `[environments.%s.rds]`", [env]),
} if {
	input.production
	input.settings.rds.deletion_protection == false
}

# A week of backups at least.
deny_rds_backup_retention contains {
	"msg": sprintf("policy: %s but keeps database backups only %d days", [why, days]),
	"key": "rds.backup_retention_days",
	"help": "keep at least 7 days of backups",
} if {
	input.production
	days := input.settings.rds.backup_retention_days
	days < 7
}

# The Kubernetes API is not open to the whole internet: each `/0` block
# of the allow-list, at that element of the list (at the environment's
# table when the list is the built-in default: nothing in the file to point
# at). It reads `settings` only, never `sources`: the built-ins' input is
# made without them (`policy::input`).
deny_eks_public_endpoint contains {
	"msg": sprintf("policy: %s but its Kubernetes API endpoint is open to the whole internet (`%s`)", [why, cidr]),
	"key": sprintf("eks.public_access_cidrs.%d", [i]),
	"help": sprintf("list your office/VPN CIDRs in `[environments.%s.eks] public_access_cidrs`, or set `endpoint_public_access = false`", [env]),
} if {
	input.production
	input.settings.eks.endpoint_public_access == true
	some i, cidr in input.settings.eks.public_access_cidrs
	regex.match(`/0+$`, cidr)
}

# Every control-plane log type: the audit trail of who changed the cluster.
deny_eks_log_types contains {
	"msg": sprintf("policy: %s but its control plane does not log %s", [why, concat(", ", missing)]),
	"key": "eks.log_types",
	"help": sprintf("enable every log type in `[environments.%s.eks] log_types` (the audit trail of who changed the cluster)", [env]),
} if {
	input.production
	enabled := {t | some t in input.settings.eks.log_types}
	missing := [sprintf("`%s`", [t]) | some t in eks_log_types; not t in enabled]
	count(missing) > 0
}

# One NAT gateway per availability zone.
deny_nat_per_az contains {
	"msg": sprintf("policy: %s but all private subnets share one NAT gateway (one AZ outage cuts every node off)", [why]),
	"key": "network.nat",
	"help": sprintf("set `nat = \"per_az\"` in `[environments.%s.network]`", [env]),
} if {
	input.production
	input.settings.network.nat == "single"
}

# A deployed tag always means the same image.
deny_ecr_immutable_tags contains {
	"msg": sprintf("policy: %s but its image tags can be overwritten", [why]),
	"key": "ecr.image_tag_mutability",
	"help": "set `image_tag_mutability = \"IMMUTABLE\"` so a deployed tag always means the same image",
} if {
	input.production
	input.settings.ecr.image_tag_mutability != "IMMUTABLE"
}
