package erhverv.admin_test

import data.erhverv.admin

test_denial_wins_over_a_grant if {
	got := _decide({
		"roles": [_role("rights_admin")], "action": "rights_request.approve",
		"resource": {"requester_id": _actor, "request_kind": "privilege"},
	})
	got.allow == false
	_codes(got) == ["own_request"]
}

test_every_granting_role_is_named if {
	got := _decide({"roles": [_role("org_admin"), _role("rights_admin")], "action": "assignment.create"})
	got.allow == true
	messages := [reason.message | some reason in got.reasons]
	messages == ["org_admin may assignment.create", "rights_admin may assignment.create"]
}

test_decision_has_its_shape if {
	got := _decide({"roles": [_role("user_admin")], "action": "user.update"})
	object.keys(got) == {"allow", "reasons"}
	every reason in got.reasons {
		object.keys(reason) == {"code", "message"}
	}
}

test_no_input_is_denied_with_reasons if {
	got := admin.decision with input as {}
	got.allow == false
	count(got.reasons) > 0
}
