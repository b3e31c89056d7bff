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
#   directly (no per-grant lookups of other rules, no strings built). Only a
#   denial walks the table of named checks in checks.rego to explain itself.
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
	accepted := _accepted[input.level]
	reasons := [_granted(g) |
		some g in input.grants
		g.privilege.uri == input.privilege
		_in_force(g, accepted)
		_covers(g.scope, input.scope)
		not _outside_restriction(g)
		not _constraint_fails(g)
	]
	reasons != []
} else := {"allow": false, "reasons": _denials}

# METADATA
# title: Effective grants
# description: |
#   Every grant of the identity, in input order, with whether it is in effect
#   at input.now and why: [{"grant", "in_effect", "reasons"}]. Scope, group
#   restrictions and constraints are left out (no question is asked); the
#   level is judged only when input.level is given.
# entrypoint: true
effective := [_verdict(g, accepted) |
	accepted := _effective_levels
	some g in input.grants
]

_verdict(g, accepted) := {"grant": g.id, "in_effect": true, "reasons": [_granted(g)]} if {
	input.identity.status == "active"
	_in_force(g, accepted)
} else := {"grant": g.id, "in_effect": false, "reasons": _failures(g, _effective_checks)}

# _in_force is the checks of a grant that need no question, inline: it must
# say what the checks of _usable_checks say one by one
# (test_fast_path_agrees_with_the_checks holds them equal).
_in_force(g, accepted) if {
	g.privilege.status == "active"
	g.privilege.min_loa in accepted
	not _not_started(g)
	not _ended(g)
	not _poa_out_of_force(g)
}

# The login levels that satisfy each minimum level.
_accepted := {
	"low": {"low"},
	"substantial": {"low", "substantial"},
	"high": {"low", "substantial", "high"},
}

_effective_levels := _accepted[input.level] if {
	input.level
} else := _accepted.high

_denials := [_reason("identity.not_active", _messages["identity.not_active"])] if {
	object.get(input, ["identity", "status"], "") != "active"
} else := [r |
	some g in input.grants
	g.privilege.uri == input.privilege
	some r in _failures(g, _decision_checks)
] if {
	some g in input.grants
	g.privilege.uri == input.privilege
} else := [_reason("grant.none", "The user holds no grant of this privilege.")]

_failures(g, checks) := [r |
	some check in checks
	not _passes(check, g)
	some r in _explain(check, g)
]
