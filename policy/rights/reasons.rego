package erhverv.rights

# Reasons: stable codes (callers and translations rely on them) and short
# English messages. A reason about one grant names it in "grant". Messages on
# the allow path are constants, so that an allow builds no strings.

_reason(code, message) := {"code": code, "message": message}

_grant_reason(code, message, g) := {"code": code, "message": message, "grant": g.id}

_granted(g) := {"code": s.code, "message": s.message, "grant": g.id} if {
	s := _sources[g.source]
} else := _grant_reason("grant.other", "Granted.", g)

_sources := {
	"direct": {"code": "grant.direct", "message": "Assigned to the user."},
	"group": {"code": "grant.group", "message": "Assigned to a group the user is a member of."},
	"poa": {"code": "grant.poa", "message": "Passed on to the user from a power of attorney."},
	"poa_person": {"code": "grant.poa_person", "message": "Given to the user by name in a power of attorney."},
}

_messages := {
	"identity.not_active": "The user is not active and holds no privileges.",
	"privilege.retired": "The privilege is retired.",
	"level.too_low": "The login's assurance level is below the privilege's minimum.",
	"grant.not_yet_valid": "The grant is not valid yet.",
	"grant.expired": "The grant has expired.",
	"poa.not_active": "The power of attorney is not active.",
	"poa.ended": "The power of attorney has ended.",
	"poa.not_yet_valid": "The power of attorney is not valid yet.",
	"poa.expired": "The power of attorney has expired.",
	"scope.mismatch": "The grant does not cover the scope asked about.",
	"group.restricted": "The group is limited to another P- or SE-number.",
}

# _explain gives the reasons of a failed check: one for most checks, one per
# constraint type for the constraint checks.
_explain("constraint.missing", g) := [_grant_reason("constraint.missing", concat("", ["No value was given for ", typ, ", which the grant limits."]), g) |
	some typ, _ in g.constraints
	not input.constraints[typ]
]

_explain("constraint.mismatch", g) := [_grant_reason("constraint.mismatch", concat("", ["The value of ", typ, " is outside the grant's ", value, "."]), g) |
	some typ, value in g.constraints
	input.constraints[typ]
	not _matches_asked(typ, value)
]

_explain(check, g) := [_grant_reason(check, _messages[check], g)] if not startswith(check, "constraint.")
