package erhverv.rights

# The checks one by one, to explain what the fast paths in decision.rego
# refuse: each check that fails records [grant index, step, code, message] in
# _fails, step ordering a grant's reasons the way the checks are listed here.
# Only the grants that need explaining are checked: in a decision the grants
# of the asked privilege, in the effective grants those not in effect.
#
# Helpers called under `not` take the grant itself, never a reference into it
# or into input: OPA evaluates such references before the negation, so
# `not f(g.poa)` would fail, not succeed, for a grant without a PoA.

_explain_indices := {i | some i, g in input.grants; g.privilege.uri == input.privilege} if {
	input.privilege
} else := {i | some i, _ in input.grants; not _in_effect[i]}

# Why each grant to explain fails, by index. A grant that fails the fast path
# but no check here is malformed (a field missing or of the wrong type).
_explained := {i: reasons |
	some i in _explain_indices
	g := input.grants[i]
	found := [_grant_reason(code, message, g) | some [j, _, code, message] in _fails; j == i]
	reasons := _or_malformed(found, g)
}

_or_malformed(found, _) := found if found != []

_or_malformed([], g) := [_grant_reason("grant.malformed", _messages["grant.malformed"], g)]

_fails contains [i, 0, "identity.not_active", _messages["identity.not_active"]] if {
	some i in _explain_indices
	not input.identity.status == "active"
}

_fails contains [i, 1, "grant.source", _messages["grant.source"]] if {
	some i in _explain_indices
	not _sources[input.grants[i].source]
}

_fails contains [i, 2, "privilege.retired", _messages["privilege.retired"]] if {
	some i in _explain_indices
	not input.grants[i].privilege.status == "active"
}

# A decision always judges the level; the effective grants only when given one.
_fails contains [i, 3, "level.too_low", _messages["level.too_low"]] if {
	some i in _explain_indices
	_judging_level
	g := input.grants[i]
	not _level_met(g)
}

# A window is [valid_from, valid_to); an absent bound is open.
_fails contains [i, 4, "grant.not_yet_valid", _messages["grant.not_yet_valid"]] if {
	some i in _explain_indices
	input.grants[i].valid_from > input.now
}

_fails contains [i, 5, "grant.expired", _messages["grant.expired"]] if {
	some i in _explain_indices
	input.grants[i].valid_to <= input.now
}

# A grant through a power of attorney counts only while the power of attorney
# is active and inside its own window. An ended one says so; any other status
# (requested, offered, rejected) is "not active".
_fails contains [i, 6, "poa.not_active", _messages["poa.not_active"]] if {
	some i in _explain_indices
	poa := input.grants[i].poa
	not poa.status in {"active", "ended"}
}

_fails contains [i, 7, "poa.ended", _messages["poa.ended"]] if {
	some i in _explain_indices
	input.grants[i].poa.status == "ended"
}

_fails contains [i, 8, "poa.not_yet_valid", _messages["poa.not_yet_valid"]] if {
	some i in _explain_indices
	input.grants[i].poa.valid_from > input.now
}

_fails contains [i, 9, "poa.expired", _messages["poa.expired"]] if {
	some i in _explain_indices
	input.grants[i].poa.valid_to <= input.now
}

# A grant of a CVR number covers the CVR and every P- and SE-number of it; a
# grant of a P- or SE-number covers exactly that unit.
_fails contains [i, 10, "scope.mismatch", _messages["scope.mismatch"]] if {
	input.privilege
	some i in _explain_indices
	g := input.grants[i]
	not _covered(g)
}

# A group limited to a P- or SE-number gives its privileges only there.
_fails contains [i, 11, "group.restricted", _messages["group.restricted"]] if {
	input.privilege
	some i in _explain_indices
	restriction := input.grants[i].group.restriction
	not _is_asked_scope(restriction)
}

# Every type the grant constrains needs a value in the question that the
# granted value matches; types the grant leaves out are free.
_fails contains [i, 12, "constraint.missing", message] if {
	input.privilege
	some i in _explain_indices
	some typ, _ in input.grants[i].constraints
	not input.constraints[typ]
	message := concat("", ["No value was given for ", typ, ", which the grant limits."])
}

_fails contains [i, 13, "constraint.mismatch", message] if {
	input.privilege
	some i in _explain_indices
	some typ, granted in input.grants[i].constraints
	input.constraints[typ]
	not _matches(granted, input.constraints[typ])
	message := concat("", ["The value of ", typ, " is outside the grant's ", granted, "."])
}

_judging_level if input.level

_judging_level if input.privilege

_level_met(g) if g.privilege.min_loa in _accepted[input.level]

_covered(g) if _covers(g.scope, input.scope)

_covers(granted, asked) if {
	granted.kind == "cvr"
	granted.value == asked.cvr
}

_covers(granted, asked) if {
	granted.kind == asked.kind
	granted.value == asked.value
}

_is_asked_scope(scope) if {
	scope.kind == input.scope.kind
	scope.value == input.scope.value
}

# The allow path's constraint check: some constrained type lacks a matching value.
_constraint_fails(g) if {
	some typ, granted in g.constraints
	not _matches_asked(typ, granted)
}

_matches_asked(typ, granted) if _matches(granted, input.constraints[typ])

# A granted value matches the same value, or, ending in "*", any value that
# starts with what comes before it: "25.*" matches "25.02.01".
_matches(granted, value) if granted == value

_matches(granted, value) if {
	endswith(granted, "*")
	startswith(value, trim_suffix(granted, "*"))
}
