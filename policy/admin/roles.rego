package erhverv.admin

import data.erhverv.catalogue

# Roles: which of the subject's roles count, and which of them grant the action.
# These rules run on every decision, so they test conditions in their bodies and
# build reasons as literal objects rather than calling small helper functions:
# in OPA a function call costs far more than an expression.

# Without a valid clock only roles without bounds count.
default _now := null

_now := time.parse_rfc3339_ns(input.context.now)

# The subject's roles in the object's organisation, and the implicit ones (every
# active business identity is a user of its own organisation).
_roles contains role if {
	some role in input.subject.roles
	role.org_id == input.resource.org_id
}

_roles contains {"role": name, "org_id": input.subject.org_id} if {
	_same_organisation
	some name, definition in catalogue.roles
	definition.implicit == true
}

# Roles that grant the action on this object when valid and in scope. Most
# grants cover any object of the organisation; those the catalogue lists under
# "own" cover only objects whose named field holds the subject's id, such as
# the requester of a rights request.
_granting contains role if {
	some role in _roles
	definition := catalogue.roles[role.role]
	input.action in definition.actions
	not definition.own[input.action]
}

_granting contains role if {
	some role in _roles
	definition := catalogue.roles[role.role]
	input.action in definition.actions
	field := definition.own[input.action]
	is_string(input.subject.user_id)
	input.subject.user_id != ""
	input.resource[field] == input.subject.user_id
}

# An organisation-wide role reaches every object of the organisation.
_grants contains {
	"code": "role_grants_action",
	"message": sprintf("%v may %v", [role.role, input.action]),
} if {
	some role in _granting
	object.get(role, "unit_id", null) == null
	_in_window(role)
}

# A role of a unit reaches only objects of that unit, never organisation-wide ones.
_grants contains {
	"code": "role_grants_action",
	"message": sprintf("%v in unit %v may %v", [role.role, role.unit_id, input.action]),
} if {
	some role in _granting
	is_string(role.unit_id)
	role.unit_id == input.resource.unit_id
	catalogue.actions[input.action].scope == "unit"
	_in_window(role)
}

# Why a role that would grant the action does not: its validity window or its unit.
_ungranted contains {
	"code": "role_not_yet_valid",
	"message": sprintf("The %v role is valid from %v.", [role.role, role.valid_from]),
} if {
	count(_grants) == 0
	some role in _granting
	is_number(_now)
	_now < time.parse_rfc3339_ns(role.valid_from)
}

_ungranted contains {
	"code": "role_expired",
	"message": sprintf("The %v role expired at %v.", [role.role, role.valid_to]),
} if {
	count(_grants) == 0
	some role in _granting
	is_number(_now)
	_now >= time.parse_rfc3339_ns(role.valid_to)
}

_ungranted contains {
	"code": "unit_scope",
	"message": sprintf("The %v role is limited to unit %v.", [role.role, role.unit_id]),
} if {
	count(_grants) == 0
	some role in _granting
	is_string(role.unit_id)

	# Valid now, yet no grant: so its unit is not the object's, or the action
	# is organisation-wide.
	_in_window(role)
}

# A role counts when valid_from <= now < valid_to; either bound may be absent
# (or null). The common case, a role without bounds, comes first and needs no
# clock; the others name the bound before the clock, so _now is only parsed
# for roles that have one.
_in_window(role) if {
	object.get(role, "valid_from", null) == null
	object.get(role, "valid_to", null) == null
}

_in_window(role) if {
	from := time.parse_rfc3339_ns(role.valid_from)
	object.get(role, "valid_to", null) == null
	from <= _now
}

_in_window(role) if {
	to := time.parse_rfc3339_ns(role.valid_to)
	object.get(role, "valid_from", null) == null
	is_number(_now)
	_now < to
}

_in_window(role) if {
	from := time.parse_rfc3339_ns(role.valid_from)
	to := time.parse_rfc3339_ns(role.valid_to)
	from <= _now
	_now < to
}
