# A rule that refers to itself: Rego's only loop that never ends. It must
# be refused with the file and line, never run until the stack gives out.
package main

# Reads the config only (docs/policy.md, "Which input a policy reads").
input_kinds := {"config"}

deny contains msg if {
	again
	msg := "never"
}

again if {
	again
}
