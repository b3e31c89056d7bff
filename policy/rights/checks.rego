package erhverv.rights

# The checks a grant must pass, one by one, each named by the code of the
# reason it gives when it fails. Denials and the effective grants' failures
# walk this table; the allow path (decision.rego) makes the same checks
# inline. The first argument of _passes is always a constant, so OPA's rule
# index picks the one rule a call needs.

# The identity's status is a gate of its own in a decision, so it is not
# repeated per grant there.
_usable_checks := [
	"privilege.retired",
	"level.too_low",
	"grant.not_yet_valid",
	"grant.expired",
	"poa.not_active",
	"poa.ended",
	"poa.not_yet_valid",
	"poa.expired",
]

_question_checks := ["scope.mismatch", "group.restricted", "constraint.missing", "constraint.mismatch"]

_decision_checks := array.concat(_usable_checks, _question_checks)

_effective_checks := array.concat(["identity.not_active"], _usable_checks) if {
	input.level
} else := array.concat(["identity.not_active"], [check | some check in _usable_checks; check != "level.too_low"])

_passes("identity.not_active", _) if input.identity.status == "active"

_passes("privilege.retired", g) if g.privilege.status == "active"

_passes("level.too_low", g) if g.privilege.min_loa in _accepted[input.level]

_passes("grant.not_yet_valid", g) if not _not_started(g)

_passes("grant.expired", g) if not _ended(g)

_passes("poa.not_active", g) if not _poa_pending(g)

_passes("poa.ended", g) if not _poa_ended(g)

_passes("poa.not_yet_valid", g) if not _poa_not_started(g)

_passes("poa.expired", g) if not _poa_expired(g)

_passes("scope.mismatch", g) if _covers(g.scope, input.scope)

_passes("group.restricted", g) if not _outside_restriction(g)

_passes("constraint.missing", g) if not _constraint_missing(g)

_passes("constraint.mismatch", g) if not _constraint_mismatch(g)

# A window is [valid_from, valid_to); an absent bound is open.
_not_started(g) if g.valid_from > input.now

_ended(g) if g.valid_to <= input.now

# A grant through a power of attorney counts only while the power of attorney
# is active and inside its own window. An ended one says so; any other status
# (requested, offered, rejected) is "not active".
_poa_out_of_force(g) if {
	g.poa
	not _poa_active(g)
}

_poa_out_of_force(g) if _poa_not_started(g)

_poa_out_of_force(g) if _poa_expired(g)

_poa_active(g) if g.poa.status == "active"

_poa_ended(g) if g.poa.status == "ended"

_poa_pending(g) if {
	g.poa
	not _poa_active(g)
	not _poa_ended(g)
}

_poa_not_started(g) if g.poa.valid_from > input.now

_poa_expired(g) if g.poa.valid_to <= input.now

# A grant of a CVR number covers the CVR and every P- and SE-number of it; a
# grant of a P- or SE-number covers exactly that unit.
_covers(granted, asked) if {
	granted.kind == "cvr"
	granted.value == asked.cvr
}

_covers(granted, asked) if {
	granted.kind == asked.kind
	granted.value == asked.value
}

# A group limited to a P- or SE-number gives its privileges only there.
_outside_restriction(g) if g.group.restriction.kind != input.scope.kind

_outside_restriction(g) if g.group.restriction.value != input.scope.value

# Every type the grant constrains needs a value in the question that the
# granted value matches; types the grant leaves out are free.
_constraint_fails(g) if {
	some typ, value in g.constraints
	not _matches_asked(typ, value)
}

_constraint_missing(g) if {
	some typ, _ in g.constraints
	not input.constraints[typ]
}

_constraint_mismatch(g) if {
	some typ, value in g.constraints
	input.constraints[typ]
	not _matches_asked(typ, value)
}

_matches_asked(typ, granted) if _matches(granted, input.constraints[typ])

# A granted value matches the same value, or, ending in "*", any value that
# starts with what comes before it: "25.*" matches "25.02.01".
_matches(granted, value) if granted == value

_matches(granted, value) if {
	endswith(granted, "*")
	startswith(value, trim_suffix(granted, "*"))
}
