package main

deny contains "public API in production" if input.production

test_passes if count(deny) == 1 with input as {"production": true}

# Fails: the rule denies nothing for a non-production environment.
test_fails if count(deny) == 1 with input as {"production": false}
