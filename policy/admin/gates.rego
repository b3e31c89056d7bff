package erhverv.admin

import data.erhverv.catalogue

# Gates: facts about the request that deny it whatever roles the subject holds.

_gate_denials contains _reason("subject_inactive", "The acting user is not active.") if {
	object.get(input, ["subject", "status"], null) != "active"
}

_gate_denials contains _reason("unknown_action", sprintf("Unknown action %v.", [_action_label])) if {
	object.get(catalogue.actions, object.get(input, "action", null), null) == null
}

_gate_denials contains _reason("tenant_isolation", "The object belongs to another organisation.") if {
	not _same_organisation
}

# Tenant isolation: a subject acts for one organisation and only on its objects.
#
# Seam for powers of attorney: when organisation A grants organisation B (or a
# person in B) a power of attorney, a second body of this rule will admit A's
# objects for B's subject, and the delegated privileges will enter as roles of
# their own, limited to the actions the power of attorney names. Until then
# nothing crosses organisations.
_same_organisation if {
	is_string(input.subject.org_id)
	input.subject.org_id != ""
	input.resource.org_id == input.subject.org_id
}
