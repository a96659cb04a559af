# A rule that refers to itself: Rego's only loop that never ends. It must
# be refused with the file and line, never run until the stack gives out.
package main

deny contains msg if {
	again
	msg := "never"
}

again if {
	again
}
