package erhverv.rights

# Reasons: stable codes (callers and translations rely on them) and short
# English messages. A reason about one grant names it in "grant". Messages on
# the allow path are constants, so that an allow builds no strings.
#
# Codes when a grant allows: grant.direct, grant.group, grant.poa (passed on
# from a power of attorney), grant.poa_person (a power of attorney naming the
# user). When denied: grant.none, identity.not_active, and per grant the
# codes of the checks (checks.rego) it fails, in the order listed there, plus
# constraint.missing and constraint.mismatch once per constraint type.

_reason(code, message) := {"code": code, "message": message}

_grant_reason(code, message, g) := {"code": code, "message": message, "grant": g.id}

_sources := {
	"direct": {"code": "grant.direct", "message": "Assigned to the user."},
	"group": {"code": "grant.group", "message": "Assigned to a group the user is a member of."},
	"poa": {"code": "grant.poa", "message": "Passed on to the user from a power of attorney."},
	"poa_person": {"code": "grant.poa_person", "message": "Given to the user by name in a power of attorney."},
}

_messages := {
	"grant.none": "The user holds no grant of this privilege.",
	"grant.malformed": "The grant could not be judged: a field is missing or malformed.",
	"identity.not_active": "The user is not active and holds no privileges.",
	"grant.source": "The grant comes from an unknown source.",
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
