package erhverv.admin_test

import data.erhverv.admin

# Shared fixtures. A case is an object with the action, the subject's roles, and
# overrides merged into a default subject, resource and context.

_org := "0b7e6f2a-3c1d-4e5f-8a9b-000000000001"

_other_org := "0b7e6f2a-3c1d-4e5f-8a9b-000000000002"

_actor := "5d1f0c3e-7a2b-4c8d-9e0f-000000000001"

_colleague := "5d1f0c3e-7a2b-4c8d-9e0f-000000000002"

_unit := "9a4c2e1b-6d3f-4a5b-8c7d-000000000001"

_other_unit := "9a4c2e1b-6d3f-4a5b-8c7d-000000000002"

_now := "2026-03-01T12:00:00Z"

_past := "2026-01-01T00:00:00Z"

_future := "2026-06-01T00:00:00Z"

_role(name) := {"role": name, "org_id": _org}

_unit_role(name, unit) := {"role": name, "org_id": _org, "unit_id": unit}

_timed_role(name, from, to) := {"role": name, "org_id": _org, "valid_from": from, "valid_to": to}

_input(case) := {
	"subject": object.union(
		{"user_id": _actor, "org_id": _org, "status": "active", "roles": object.get(case, "roles", [])},
		object.get(case, "subject", {}),
	),
	"action": case.action,
	"resource": object.union(
		{"type": "user", "org_id": _org, "id": _colleague},
		object.get(case, "resource", {}),
	),
	"context": object.union(
		{"now": _now, "active_org_admins": 2},
		object.get(case, "context", {}),
	),
}

_decide(case) := decision if {
	decision := admin.decision with input as _input(case)
}

_codes(decision) := [reason.code | some reason in decision.reasons]

# A case passes when both the verdict and the reason codes (in order) match.
_expect(case) if {
	got := _decide(case)
	got.allow == case.allow
	_codes(got) == case.codes
}
