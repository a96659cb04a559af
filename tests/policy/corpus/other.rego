# Only with `--all-namespaces` (or `--namespace other`): conftest evaluates `main` by default.
package other

# Reads the config only (docs/policy.md, "Which input a policy reads").
input_kinds := {"config"}

deny contains "from another package" if input.environment == "dev"
