package erhverv.admin_test

import data.erhverv.catalogue

test_roles_name_only_catalogued_actions[role] if {
	some role, definition in catalogue.roles
	every action in definition.actions {
		catalogue.actions[action]
	}
}

test_own_only_grants_are_granted[role] if {
	some role, definition in catalogue.roles
	every action, _ in object.get(definition, "own", {}) {
		action in definition.actions
	}
}

test_actions_have_a_scope[action] if {
	some action, definition in catalogue.actions
	definition.scope in {"organisation", "unit"}
}

test_every_action_is_granted_by_some_role[action] if {
	some action, _ in catalogue.actions
	some definition in catalogue.roles
	action in definition.actions
}

test_user_is_the_only_implicit_role if {
	{name | some name, definition in catalogue.roles; definition.implicit == true} == {"user"}
}

test_only_rights_deciders_approve if {
	deciders := {name | some name, definition in catalogue.roles; "rights_request.approve" in definition.actions}
	deciders == {"org_admin", "rights_admin"}
}
