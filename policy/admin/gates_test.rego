package erhverv.admin_test

import data.erhverv.admin

test_gates[name] if {
	some name, case in {
		"inactive subject is denied despite its role": {
			"subject": {"status": "deactivated"}, "roles": [_role("org_admin")], "action": "org.read",
			"allow": false, "codes": ["subject_inactive"],
		},
		"subject without a status is denied": {
			"subject": {"status": null}, "roles": [_role("org_admin")], "action": "org.read",
			"allow": false, "codes": ["subject_inactive"],
		},
		"inactive subject may not read own data": {
			"subject": {"status": "pending"}, "action": "self.read", "resource": {"owner_id": _actor},
			"allow": false, "codes": ["subject_inactive"],
		},
		"unknown action": {
			"roles": [_role("org_admin")], "action": "org.destroy",
			"allow": false, "codes": ["unknown_action"],
		},
		"action that is not a string": {
			"roles": [_role("org_admin")], "action": 42,
			"allow": false, "codes": ["unknown_action"],
		},
		"object of another organisation": {
			"roles": [_role("user_admin")], "action": "user.update", "resource": {"org_id": _other_org},
			"allow": false, "codes": ["tenant_isolation"],
		},
		"role held in the other organisation does not cross over": {
			"roles": [{"role": "user_admin", "org_id": _other_org}], "action": "user.update",
			"resource": {"org_id": _other_org},
			"allow": false, "codes": ["tenant_isolation"],
		},
		"empty organisation ids never match": {
			"subject": {"org_id": ""}, "roles": [{"role": "org_admin", "org_id": ""}], "action": "org.read",
			"resource": {"org_id": ""},
			"allow": false, "codes": ["tenant_isolation"],
		},
		"every failed gate is reported": {
			"subject": {"status": "deactivated"}, "action": "org.destroy", "resource": {"org_id": _other_org},
			"allow": false, "codes": ["subject_inactive", "tenant_isolation", "unknown_action"],
		},
	}
	_expect(case)
}

test_gate_messages[name] if {
	some name, case in {
		"unknown action": {
			"action": "org.destroy",
			"messages": ["Unknown action org.destroy."],
		},
		"missing action": {
			"action": null,
			"messages": ["Unknown action (no action)."],
		},
		"tenant isolation": {
			"action": "org.read", "resource": {"org_id": _other_org},
			"messages": ["The object belongs to another organisation."],
		},
		"inactive": {
			"action": "org.read", "subject": {"status": "deactivated"},
			"messages": ["The acting user is not active."],
		},
	}
	[reason.message | some reason in _decide(case).reasons] == case.messages
}

test_empty_input_is_denied if {
	got := admin.decision with input as {}
	got.allow == false
	_codes(got) == ["subject_inactive", "tenant_isolation", "unknown_action"]
}
