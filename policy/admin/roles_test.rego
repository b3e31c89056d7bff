package erhverv.admin_test

import data.erhverv.admin

_request(requester, kind) := {"type": "rights_request", "requester_id": requester, "request_kind": kind}

test_role_grants[name] if {
	some name, case in {
		"org_admin may update organisation settings": {
			"roles": [_role("org_admin")], "action": "org.settings.update",
			"allow": true, "codes": ["role_grants_action"],
		},
		"org_admin may read users": {
			"roles": [_role("org_admin")], "action": "user.read",
			"allow": true, "codes": ["role_grants_action"],
		},
		"org_admin may not update users": {
			"roles": [_role("org_admin")], "action": "user.update",
			"allow": false, "codes": ["no_role"],
		},
		"org_admin may not delete users": {
			"roles": [_role("org_admin")], "action": "user.delete",
			"allow": false, "codes": ["no_role"],
		},
		"org_admin who is also user_admin may update users": {
			"roles": [_role("org_admin"), _role("user_admin")], "action": "user.update",
			"allow": true, "codes": ["role_grants_action"],
		},
		"org_admin may read the audit log": {
			"roles": [_role("org_admin")], "action": "audit.read", "resource": {"type": "audit"},
			"allow": true, "codes": ["role_grants_action"],
		},
		"org_admin may grant a power of attorney": {
			"roles": [_role("org_admin")], "action": "poa.grant", "resource": {"type": "poa"},
			"allow": true, "codes": ["role_grants_action"],
		},
		"org_admin may manage API clients": {
			"roles": [_role("org_admin")], "action": "api_client.manage", "resource": {"type": "api_client"},
			"allow": true, "codes": ["role_grants_action"],
		},
		"user_admin may create users": {
			"roles": [_role("user_admin")], "action": "user.create",
			"allow": true, "codes": ["role_grants_action"],
		},
		"user_admin may deactivate users": {
			"roles": [_role("user_admin")], "action": "user.deactivate",
			"allow": true, "codes": ["role_grants_action"],
		},
		"user_admin may reactivate users": {
			"roles": [_role("user_admin")], "action": "user.reactivate",
			"allow": true, "codes": ["role_grants_action"],
		},
		"user_admin may resend activation": {
			"roles": [_role("user_admin")], "action": "user.resend_activation",
			"allow": true, "codes": ["role_grants_action"],
		},
		"user_admin may import users": {
			"roles": [_role("user_admin")], "action": "user.import",
			"allow": true, "codes": ["role_grants_action"],
		},
		"user_admin may assign rights": {
			"roles": [_role("user_admin")], "action": "assignment.create", "resource": {"type": "assignment"},
			"allow": true, "codes": ["role_grants_action"],
		},
		"user_admin may not change organisation settings": {
			"roles": [_role("user_admin")], "action": "org.settings.update",
			"allow": false, "codes": ["no_role"],
		},
		"user_admin may not read the audit log": {
			"roles": [_role("user_admin")], "action": "audit.read",
			"allow": false, "codes": ["no_role"],
		},
		"rights_admin may remove rights": {
			"roles": [_role("rights_admin")], "action": "assignment.remove", "resource": {"type": "assignment"},
			"allow": true, "codes": ["role_grants_action"],
		},
		"rights_admin may approve another's privilege request": {
			"roles": [_role("rights_admin")], "action": "rights_request.approve",
			"resource": _request(_colleague, "privilege"),
			"allow": true, "codes": ["role_grants_action"],
		},
		"rights_admin may manage group privileges": {
			"roles": [_role("rights_admin")], "action": "group.privileges.manage", "resource": {"type": "group"},
			"allow": true, "codes": ["role_grants_action"],
		},
		"rights_admin may not update users": {
			"roles": [_role("rights_admin")], "action": "user.update",
			"allow": false, "codes": ["no_role"],
		},
		"user may read own data": {
			"action": "self.read", "resource": {"owner_id": _actor},
			"allow": true, "codes": ["role_grants_action"],
		},
		"user may not read another's data": {
			"action": "self.read", "resource": {"owner_id": _colleague},
			"allow": false, "codes": ["no_role"],
		},
		"user may request a right": {
			"action": "rights_request.create", "resource": _request(_actor, "privilege"),
			"allow": true, "codes": ["role_grants_action"],
		},
		"user may not request a right for another": {
			"action": "rights_request.create", "resource": _request(_colleague, "privilege"),
			"allow": false, "codes": ["no_role"],
		},
		"user may read own request": {
			"action": "rights_request.read", "resource": _request(_actor, "admin_role"),
			"allow": true, "codes": ["role_grants_action"],
		},
		"user may read the privilege catalogue": {
			"action": "privilege.read", "resource": {"type": "privilege"},
			"allow": true, "codes": ["role_grants_action"],
		},
		"user may not read users": {
			"action": "user.read",
			"allow": false, "codes": ["no_role"],
		},
		"subject without an id owns nothing": {
			"subject": {"user_id": ""}, "action": "self.read", "resource": {"owner_id": ""},
			"allow": false, "codes": ["no_role"],
		},
		"role of another organisation does not count": {
			"roles": [{"role": "user_admin", "org_id": _other_org}], "action": "user.update",
			"allow": false, "codes": ["no_role"],
		},
		"unknown role grants nothing": {
			"roles": [_role("superuser")], "action": "user.update",
			"allow": false, "codes": ["no_role"],
		},
	}
	_expect(case)
}

test_time_windows[name] if {
	some name, case in {
		"inside the window": {
			"roles": [_timed_role("user_admin", _past, _future)], "action": "user.update",
			"allow": true, "codes": ["role_grants_action"],
		},
		"started, no end": {
			"roles": [{"role": "user_admin", "org_id": _org, "valid_from": _past}], "action": "user.update",
			"allow": true, "codes": ["role_grants_action"],
		},
		"no start, not ended": {
			"roles": [{"role": "user_admin", "org_id": _org, "valid_to": _future}], "action": "user.update",
			"allow": true, "codes": ["role_grants_action"],
		},
		"null bounds are absent": {
			"roles": [_timed_role("user_admin", null, null)], "action": "user.update",
			"allow": true, "codes": ["role_grants_action"],
		},
		"starts exactly now": {
			"roles": [_timed_role("user_admin", _now, _future)], "action": "user.update",
			"allow": true, "codes": ["role_grants_action"],
		},
		"ends exactly now": {
			"roles": [_timed_role("user_admin", _past, _now)], "action": "user.update",
			"allow": false, "codes": ["role_expired"],
		},
		"not yet valid": {
			"roles": [_timed_role("user_admin", _future, null)], "action": "user.update",
			"allow": false, "codes": ["role_not_yet_valid"],
		},
		"expired": {
			"roles": [_timed_role("user_admin", null, _past)], "action": "user.update",
			"allow": false, "codes": ["role_expired"],
		},
		"expired role beside a valid one": {
			"roles": [_timed_role("user_admin", null, _past), _role("user_admin")], "action": "user.update",
			"allow": true, "codes": ["role_grants_action"],
		},
		"expired role that would not grant the action": {
			"roles": [_timed_role("org_admin", null, _past)], "action": "user.update",
			"allow": false, "codes": ["no_role"],
		},
		"unparseable bound never counts": {
			"roles": [_timed_role("user_admin", null, "soon")], "action": "user.update",
			"allow": false, "codes": ["no_role"],
		},
		"without a clock a bounded role never counts": {
			"roles": [_timed_role("user_admin", _past, null)], "action": "user.update",
			"context": {"now": null},
			"allow": false, "codes": ["no_role"],
		},
		"without a clock an unbounded role counts": {
			"roles": [_role("user_admin")], "action": "user.update",
			"context": {"now": null},
			"allow": true, "codes": ["role_grants_action"],
		},
	}
	_expect(case)
}

test_unit_scope[name] if {
	some name, case in {
		"unit user_admin on a user of its unit": {
			"roles": [_unit_role("user_admin", _unit)], "action": "user.update",
			"resource": {"unit_id": _unit},
			"allow": true, "codes": ["role_grants_action"],
		},
		"unit user_admin on a user of another unit": {
			"roles": [_unit_role("user_admin", _unit)], "action": "user.update",
			"resource": {"unit_id": _other_unit},
			"allow": false, "codes": ["unit_scope"],
		},
		"unit user_admin on a user with no unit": {
			"roles": [_unit_role("user_admin", _unit)], "action": "user.update",
			"allow": false, "codes": ["unit_scope"],
		},
		"unit user_admin on an organisation-wide action": {
			"roles": [_unit_role("user_admin", _unit)], "action": "user.import",
			"resource": {"unit_id": _unit},
			"allow": false, "codes": ["unit_scope"],
		},
		"unit org_admin on organisation settings": {
			"roles": [_unit_role("org_admin", _unit)], "action": "org.settings.update",
			"resource": {"type": "org", "unit_id": _unit},
			"allow": false, "codes": ["unit_scope"],
		},
		"organisation-wide user_admin on a user of a unit": {
			"roles": [_role("user_admin")], "action": "user.update",
			"resource": {"unit_id": _unit},
			"allow": true, "codes": ["role_grants_action"],
		},
		"null unit is organisation-wide": {
			"roles": [_unit_role("user_admin", null)], "action": "user.import",
			"allow": true, "codes": ["role_grants_action"],
		},
		"expired unit role reports the expiry only": {
			"roles": [object.union(_unit_role("user_admin", _unit), {"valid_to": _past})],
			"action": "user.update", "resource": {"unit_id": _other_unit},
			"allow": false, "codes": ["role_expired"],
		},
	}
	_expect(case)
}

test_grant_messages[name] if {
	some name, case in {
		"organisation-wide role": {
			"roles": [_role("user_admin")], "action": "user.update",
			"message": "user_admin may user.update",
		},
		"unit role": {
			"roles": [_unit_role("user_admin", _unit)], "action": "user.update", "resource": {"unit_id": _unit},
			"message": sprintf("user_admin in unit %v may user.update", [_unit]),
		},
		"implicit user role": {
			"action": "self.read", "resource": {"owner_id": _actor},
			"message": "user may self.read",
		},
		"no role": {
			"roles": [_role("org_admin")], "action": "user.update",
			"message": "No role grants user.update.",
		},
		"unit scope": {
			"roles": [_unit_role("user_admin", _unit)], "action": "user.update",
			"message": sprintf("The user_admin role is limited to unit %v.", [_unit]),
		},
		"expired": {
			"roles": [_timed_role("user_admin", null, _past)], "action": "user.update",
			"message": sprintf("The user_admin role expired at %v.", [_past]),
		},
		"not yet valid": {
			"roles": [_timed_role("user_admin", _future, null)], "action": "user.update",
			"message": sprintf("The user_admin role is valid from %v.", [_future]),
		},
	}
	[reason.message | some reason in _decide(case).reasons] == [case.message]
}

test_implicit_user_role_stays_home if {
	got := admin.decision with input as _input({"action": "privilege.read", "resource": {"org_id": _other_org}})
	got.allow == false
	_codes(got) == ["tenant_isolation"]
}
