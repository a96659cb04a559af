# conftest's v0 style (`deny[msg] { … }`, `name = …`), as in
# open-policy-agent/conftest examples/kubernetes/policy/deny.rego; written for
# this input, evaluated with `--rego-version v0`.
package main

input_kinds = {"config"}

name = input.environment

deny[msg] {
  input.production
  not input.settings.rds.multi_az == false
  input.settings.rds.backup_retention_days < 35
  msg = sprintf("Production environment %s keeps backups under 35 days", [name])
}
