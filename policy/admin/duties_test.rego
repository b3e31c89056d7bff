package erhverv.admin_test

_decision_on(requester, kind) := {"type": "rights_request", "requester_id": requester, "request_kind": kind}

test_separation_of_duties[name] if {
	some name, case in {
		"rights_admin approves own request": {
			"roles": [_role("rights_admin")], "action": "rights_request.approve",
			"resource": _decision_on(_actor, "privilege"),
			"allow": false, "codes": ["own_request"],
		},
		"org_admin rejects own request": {
			"roles": [_role("org_admin")], "action": "rights_request.reject",
			"resource": _decision_on(_actor, "admin_role"),
			"allow": false, "codes": ["own_request"],
		},
		"rights_admin rejects another's request": {
			"roles": [_role("rights_admin")], "action": "rights_request.reject",
			"resource": _decision_on(_colleague, "privilege"),
			"allow": true, "codes": ["role_grants_action"],
		},
		"user_admin approves": {
			"roles": [_role("user_admin")], "action": "rights_request.approve",
			"resource": _decision_on(_colleague, "privilege"),
			"allow": false, "codes": ["user_admin_cannot_approve"],
		},
		"user_admin rejects": {
			"roles": [_role("user_admin")], "action": "rights_request.reject",
			"resource": _decision_on(_colleague, "privilege"),
			"allow": false, "codes": ["user_admin_cannot_approve"],
		},
		"user_admin approves own request": {
			"roles": [_role("user_admin")], "action": "rights_request.approve",
			"resource": _decision_on(_actor, "privilege"),
			"allow": false, "codes": ["own_request", "user_admin_cannot_approve"],
		},
		"user_admin who is also rights_admin approves": {
			"roles": [_role("user_admin"), _role("rights_admin")], "action": "rights_request.approve",
			"resource": _decision_on(_colleague, "privilege"),
			"allow": true, "codes": ["role_grants_action"],
		},
		"user_admin whose rights_admin role expired approves": {
			"roles": [_role("user_admin"), _timed_role("rights_admin", null, _past)],
			"action": "rights_request.approve", "resource": _decision_on(_colleague, "privilege"),
			"allow": false, "codes": ["role_expired", "user_admin_cannot_approve"],
		},
		"user_admin may still read users": {
			"roles": [_role("user_admin")], "action": "user.read",
			"allow": true, "codes": ["role_grants_action"],
		},
		"rights_admin decides a request for an administrator role": {
			"roles": [_role("rights_admin")], "action": "rights_request.approve",
			"resource": _decision_on(_colleague, "admin_role"),
			"allow": false, "codes": ["only_org_admin_grants_roles"],
		},
		"org_admin decides a request for an administrator role": {
			"roles": [_role("org_admin")], "action": "rights_request.approve",
			"resource": _decision_on(_colleague, "admin_role"),
			"allow": true, "codes": ["role_grants_action"],
		},
		"org_admin assigns an administrator role": {
			"roles": [_role("org_admin")], "action": "admin_role.assign",
			"resource": {"type": "admin_role", "role": "user_admin"},
			"allow": true, "codes": ["role_grants_action"],
		},
		"user_admin assigns an administrator role": {
			"roles": [_role("user_admin")], "action": "admin_role.assign",
			"resource": {"type": "admin_role", "role": "user_admin"},
			"allow": false, "codes": ["only_org_admin_grants_roles"],
		},
		"rights_admin removes an administrator role": {
			"roles": [_role("rights_admin")], "action": "admin_role.remove",
			"resource": {"type": "admin_role", "role": "rights_admin"},
			"allow": false, "codes": ["only_org_admin_grants_roles"],
		},
		"unit org_admin assigns an administrator role": {
			"roles": [_unit_role("org_admin", _unit)], "action": "admin_role.assign",
			"resource": {"type": "admin_role", "role": "user_admin", "unit_id": _unit},
			"allow": false, "codes": ["only_org_admin_grants_roles", "unit_scope"],
		},
		"expired org_admin assigns an administrator role": {
			"roles": [_timed_role("org_admin", null, _past)], "action": "admin_role.assign",
			"resource": {"type": "admin_role", "role": "user_admin"},
			"allow": false, "codes": ["only_org_admin_grants_roles", "role_expired"],
		},
	}
	_expect(case)
}

test_last_org_admin[name] if {
	some name, case in {
		"remove the last org_admin role": {
			"action": "admin_role.remove", "resource": {"type": "admin_role", "role": "org_admin", "is_active_org_admin": true},
			"context": {"active_org_admins": 1},
			"roles": [_role("org_admin")], "allow": false, "codes": ["last_org_admin"],
		},
		"an unknown activity counts as active": {
			"action": "admin_role.remove", "resource": {"type": "admin_role", "role": "org_admin"},
			"context": {"active_org_admins": 1},
			"roles": [_role("org_admin")], "allow": false, "codes": ["last_org_admin"],
		},
		"remove an inactive org_admin role": {
			"action": "admin_role.remove", "resource": {"type": "admin_role", "role": "org_admin", "is_active_org_admin": false},
			"context": {"active_org_admins": 1},
			"roles": [_role("org_admin")], "allow": true, "codes": ["role_grants_action"],
		},
		"remove one of two org_admin roles": {
			"action": "admin_role.remove", "resource": {"type": "admin_role", "role": "org_admin", "is_active_org_admin": true},
			"context": {"active_org_admins": 2},
			"roles": [_role("org_admin")], "allow": true, "codes": ["role_grants_action"],
		},
		"remove a user_admin role beside the last org_admin": {
			"action": "admin_role.remove", "resource": {"type": "admin_role", "role": "user_admin"},
			"context": {"active_org_admins": 1},
			"roles": [_role("org_admin")], "allow": true, "codes": ["role_grants_action"],
		},
		"deactivate the last org_admin": {
			"action": "user.deactivate", "resource": {"is_active_org_admin": true},
			"context": {"active_org_admins": 1},
			"roles": [_role("user_admin")], "allow": false, "codes": ["last_org_admin"],
		},
		"delete the last org_admin": {
			"action": "user.delete", "resource": {"is_active_org_admin": true},
			"context": {"active_org_admins": 1},
			"roles": [_role("user_admin")], "allow": false, "codes": ["last_org_admin"],
		},
		"delete one of two org_admins": {
			"action": "user.delete", "resource": {"is_active_org_admin": true},
			"context": {"active_org_admins": 2},
			"roles": [_role("user_admin")], "allow": true, "codes": ["role_grants_action"],
		},
		"deactivate a user who is no org_admin": {
			"action": "user.deactivate", "resource": {"is_active_org_admin": false},
			"context": {"active_org_admins": 1},
			"roles": [_role("user_admin")], "allow": true, "codes": ["role_grants_action"],
		},
		"a missing count keeps the last org_admin": {
			"action": "user.deactivate", "resource": {"is_active_org_admin": true},
			"context": {"active_org_admins": null},
			"roles": [_role("user_admin")], "allow": false, "codes": ["last_org_admin"],
		},
		"a count that is no number keeps the last org_admin": {
			"action": "user.delete", "resource": {"is_active_org_admin": true},
			"context": {"active_org_admins": "2"},
			"roles": [_role("user_admin")], "allow": false, "codes": ["last_org_admin"],
		},
		"the last org_admin may not deactivate themself": {
			"action": "user.deactivate", "resource": {"id": _actor, "is_active_org_admin": true},
			"context": {"active_org_admins": 1},
			"roles": [_role("org_admin"), _role("user_admin")], "allow": false, "codes": ["last_org_admin"],
		},
		"no role and the last org_admin": {
			"action": "user.delete", "resource": {"is_active_org_admin": true},
			"context": {"active_org_admins": 1},
			"roles": [_role("rights_admin")], "allow": false, "codes": ["last_org_admin"],
		},
	}
	_expect(case)
}
