package main

deny contains "public API in production" if {
	input.production
	input.settings.eks.endpoint_public_access
}

test_public_production_is_denied if {
	count(deny) == 1 with input as {"production": true, "settings": {"eks": {"endpoint_public_access": true}}}
}

test_dev_is_allowed if {
	count(deny) == 0 with input as {"production": false, "settings": {"eks": {"endpoint_public_access": true}}}
}
