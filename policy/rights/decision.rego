# METADATA
# title: Runtime rights decisions
# description: |
#   Does this business identity hold this privilege, for this scope and these
#   constraint values, now, at this assurance level? And which of its grants
#   are in effect?
#
#   The input is one identity's facts and, for `decision`, one question:
#
#     now          the moment asked about, in nanoseconds since the Unix epoch
#     level        the login's assurance level: low, substantial or high
#                  (`decision` requires it; `effective` judges no level without it)
#     identity     {"status": "active" | "pending" | "deactivated" | "deleted"}
#     privilege    the privilege URI asked about            (decision only)
#     scope        {"kind": "cvr"|"p"|"se", "value", "cvr"} (decision only;
#                  cvr is the CVR number the P- or SE-number belongs to)
#     constraints  {type: value} acted on                   (decision only)
#     grants       [{
#       "id", "source": "direct"|"group"|"poa"|"poa_person",
#       "privilege": {"uri", "status", "min_loa"},
#       "scope": {"kind", "value", "cvr"},
#       "constraints": {type: granted value, "25.*" for a prefix},
#       "valid_from", "valid_to": nanoseconds, absent when open,
#       "group": {"id", "name", "restriction": {"kind", "value"} or absent},
#       "poa": {"id", "status", "valid_from", "valid_to"}   (absent: no PoA)
#     }]
#
#   The caller may pass only the grants of the asked privilege (an index in
#   Go); every rule still checks everything itself.
#
#   A helper called under `not` takes the grant itself, never a reference
#   into it: OPA evaluates a call's reference arguments before the negation,
#   so `not f(g.poa)` would fail, not succeed, for a grant without a PoA.
#
#   Speed: a decision is asked on every login and API call, so the allow path
#   is one comprehension with every check inline, reading input fields
#   directly: no per-grant lookups of other rules (constants are written out:
#   9223372036854775807, the largest int64, is "no end"), no function calls
#   where a builtin will do, no strings built. Only a denial walks the table
#   of named checks in checks.rego to explain itself. The fast paths must
#   agree with the table: test_fast_paths_agree_with_the_checks holds them so.
package erhverv.rights

# METADATA
# title: Decision
# description: |
#   {"allow": bool, "reasons": [{"code", "message", "grant"?}]}. When allowed,
#   one reason per grant that allows; when denied, why each grant of the asked
#   privilege fails, or one reason for the identity or the absence of grants.
# entrypoint: true
decision := {"allow": true, "reasons": reasons} if {
	input.identity.status == "active"

	# _accepted[input.level] and _sources, written out: looking up a rule
	# costs a decision more than all its grant checks (equality is tested).
	accepted := {"low": {"low"}, "substantial": {"low", "substantial"}, "high": {"low", "substantial", "high"}}[input.level]
	sources := {
		"direct": {"code": "grant.direct", "message": "Assigned to the user."},
		"group": {"code": "grant.group", "message": "Assigned to a group the user is a member of."},
		"poa": {"code": "grant.poa", "message": "Passed on to the user from a power of attorney."},
		"poa_person": {"code": "grant.poa_person", "message": "Given to the user by name in a power of attorney."},
	}
	reasons := [{"code": source.code, "message": source.message, "grant": g.id} |
		some g in input.grants
		g.privilege.uri == input.privilege

		# Steps 1-9 of _fails (checks.rego), inline.
		source := sources[g.source]
		g.privilege.status == "active"
		g.privilege.min_loa in accepted
		object.get(g, "valid_from", 0) <= input.now
		input.now < object.get(g, "valid_to", 9223372036854775807)
		poa := object.get(g, "poa", {"status": "active"})
		poa.status == "active"
		object.get(poa, "valid_from", 0) <= input.now
		input.now < object.get(poa, "valid_to", 9223372036854775807)

		# Steps 10-13, inline. Without a group restriction, the
		# restriction is the asked scope itself.
		_covers(g.scope, input.scope)
		restriction := object.get(g, ["group", "restriction"], input.scope)
		restriction.kind == input.scope.kind
		restriction.value == input.scope.value
		not _constraint_fails(g)
	]
	reasons != []
} else := {"allow": false, "reasons": _denials}

# METADATA
# title: Effective grants
# description: |
#   Every grant of the identity judged at input.now, without a question:
#   {"in_effect": {index: {"code", "message"}}, "not_in_effect": {index:
#   [reasons]}}, by the grant's index in input.grants. The reason a grant is
#   in effect names no grant (its index does), so that fifty grants in effect
#   share four reason objects instead of building fifty. Scope, group restrictions and
#   constraints are left out; the level is judged only when input.level is
#   given.
# entrypoint: true
effective := {"in_effect": _in_effect, "not_in_effect": _explained}

# The grants in effect, each with its reason: steps 0-9 of _fails inline,
# as in decision (test_effective_agrees_with_the_checks holds them equal).
_in_effect := {i: source |
	input.identity.status == "active"
	accepted := _effective_levels
	sources := _sources
	some i, g in input.grants
	source := sources[g.source]
	g.privilege.status == "active"
	g.privilege.min_loa in accepted
	object.get(g, "valid_from", 0) <= input.now
	input.now < object.get(g, "valid_to", 9223372036854775807)
	poa := object.get(g, "poa", {"status": "active"})
	poa.status == "active"
	object.get(poa, "valid_from", 0) <= input.now
	input.now < object.get(poa, "valid_to", 9223372036854775807)
}

# The minimum levels a login at each level satisfies.
_accepted := {
	"low": {"low"},
	"substantial": {"low", "substantial"},
	"high": {"low", "substantial", "high"},
}

# The effective grants judge the level only when given one (as _judging_level
# says); an unknown level accepts nothing.
_effective_levels := object.get(_accepted, input.level, set()) if {
	_judging_level
} else := _accepted.high

_denials := [_reason("identity.not_active", _messages["identity.not_active"])] if {
	object.get(input, ["identity", "status"], "") != "active"
} else := [reason |
	some i in _explain_indices
	some reason in _explained[i]
] if {
	count(_explain_indices) > 0
} else := [_reason("grant.none", _messages["grant.none"])]
