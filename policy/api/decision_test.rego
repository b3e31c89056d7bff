package erhverv.api_test

import data.erhverv.api

_org_a := "00000000-0000-0000-0000-00000000000a"

_org_b := "00000000-0000-0000-0000-00000000000b"

_client(scopes) := {"id": "c1", "org_id": _org_a, "scopes": scopes}

_codes(d) := [r.code | some r in d.reasons]

test_scope_allows_own_organisation if {
	cases := [
		{"scopes": ["users:read"], "action": "user.read"},
		{"scopes": ["users:write"], "action": "user.create"},
		{"scopes": ["users:write"], "action": "group.members.manage"},
		{"scopes": ["roles:write"], "action": "admin_role.assign"},
		{"scopes": ["rights:read"], "action": "assignment.read"},
		{"scopes": ["rights:write"], "action": "assignment.create"},
		{"scopes": ["decisions"], "action": "decision.ask"},
		{"scopes": ["audit:read"], "action": "audit.read"},
		{"scopes": ["events:read"], "action": "events.read"},
		{"scopes": ["scim"], "action": "user.delete"},
		{"scopes": ["scim"], "action": "scim.write"},
	]
	every case in cases {
		d := api.decision with input as {"client": _client(case.scopes), "action": case.action, "resource": {"org_id": _org_a}}
		d.allow
		_codes(d) == ["scope_grants_action"]
	}
}

test_missing_scope_names_the_scopes_needed if {
	d := api.decision with input as {"client": _client(["users:read"]), "action": "user.create", "resource": {"org_id": _org_a}}
	not d.allow
	_codes(d) == ["missing_scope"]
	contains(d.reasons[0].message, "scim, users:write")
}

test_other_organisation_is_refused if {
	cases := [
		{"scopes": ["users:write"], "action": "user.read"},
		{"scopes": ["rights:write"], "action": "assignment.create"},
		{"scopes": ["audit:read"], "action": "audit.read"},
		{"scopes": ["decisions"], "action": "decision.ask"},
	]
	every case in cases {
		d := api.decision with input as {"client": _client(case.scopes), "action": case.action, "resource": {"org_id": _org_b}}
		not d.allow
		_codes(d) == ["tenant_isolation"]
	}
}

test_provider_asks_about_its_own_systems_only if {
	own := api.decision with input as {
		"client": _client(["decisions"]), "action": "decision.ask",
		"resource": {"org_id": _org_b, "provider_org_id": _org_a},
	}
	own.allow
	_codes(own) == ["provider_grants_action"]

	other := api.decision with input as {
		"client": _client(["decisions"]), "action": "decision.ask",
		"resource": {"org_id": _org_b, "provider_org_id": _org_b},
	}
	not other.allow
	_codes(other) == ["tenant_isolation"]
}

test_provider_path_is_only_for_provider_actions if {
	d := api.decision with input as {
		"client": _client(["users:write"]), "action": "user.read",
		"resource": {"org_id": _org_b, "provider_org_id": _org_a},
	}
	not d.allow
	_codes(d) == ["tenant_isolation"]
}

test_unknown_action_and_client_without_organisation if {
	d := api.decision with input as {"client": _client(["users:write"]), "action": "user.fly", "resource": {"org_id": _org_a}}
	not d.allow
	_codes(d) == ["unknown_action"]

	e := api.decision with input as {"client": {"scopes": ["users:read"]}, "action": "user.read", "resource": {"org_id": _org_a}}
	not e.allow
	_codes(e) == ["client_unknown"]

	f := api.decision with input as {"client": {"org_id": "", "scopes": ["users:read"]}, "action": "user.read", "resource": {"org_id": ""}}
	not f.allow
	_codes(f) == ["client_unknown"]
}

test_unknown_scope_grants_nothing if {
	d := api.decision with input as {"client": _client(["admin"]), "action": "user.read", "resource": {"org_id": _org_a}}
	not d.allow
	_codes(d) == ["missing_scope"]
}

test_scim_endpoints_need_the_scim_scope if {
	d := api.decision with input as {"client": _client(["users:write"]), "action": "scim.write", "resource": {"org_id": _org_a}}
	not d.allow
	_codes(d) == ["missing_scope"]
}
