# METADATA
# title: Administrator decisions
# description: |
#   May this subject do this action on this object of its own organisation?
#   The input is the request (subject with its roles, action, resource, context);
#   data.erhverv.catalogue is the static catalogue of actions and roles.
package erhverv.admin

# METADATA
# title: Decision
# description: |
#   The one entry point: {"allow": bool, "reasons": [{"code", "message"}]}.
#   Any denial wins over every grant. Reasons name the grants that allowed the
#   action, or the rules that denied it.
# entrypoint: true
decision := {"allow": true, "reasons": sort([reason | some reason in _grants])} if {
	count(_gate_denials) == 0
	count(_rule_denials) == 0
	count(_grants) > 0
} else := {"allow": false, "reasons": sort([reason | some reason in _denials])}

# A failed gate (inactive subject, unknown action, another organisation) makes
# every other reason moot. A separation-of-duties denial is reported together
# with any role that would have granted the action had it been valid or in scope.
_denials := _gate_denials if {
	count(_gate_denials) > 0
} else := _rule_denials | _ungranted if {
	count(_rule_denials) > 0
} else := _ungranted if {
	count(_ungranted) > 0
} else := {_reason("no_role", sprintf("No role grants %v.", [_action_label]))}
