# Only with `--all-namespaces` (or `--namespace other`): conftest evaluates `main` by default.
package other

deny contains "from another package" if input.environment == "dev"
