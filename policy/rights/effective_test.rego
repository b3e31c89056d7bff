package erhverv.rights_test

import data.erhverv.rights

_effective(grants, overrides) := e if {
	q := object.union({"now": _now, "identity": {"status": "active"}, "grants": grants}, overrides)
	e := rights.effective with input as q
}

# _verdicts flattens the effective grants to [grant, in effect, codes] in
# input order.
_verdicts(grants, e) := [[g.id, in_effect, codes] |
	some i, g in grants
	in_effect := i in object.keys(e.in_effect)
	codes := _verdict_codes(i, e)
]

_verdict_codes(i, e) := [e.in_effect[i].code] if {
	e.in_effect[i]
} else := [r.code | some r in e.not_in_effect[i]]

_mixed := [
	_grant("direct", {}),
	_grant("expired", {"valid_to": _past}),
	_group_grant("restricted", {"restriction": {"kind": "p", "value": _p}}),
	_grant("high", {"privilege": {"uri": "urn:dk:high", "status": "active", "min_loa": "high"}}),
	_poa_grant("ended", {"status": "ended"}),
	_grant("later", {"valid_from": _future}),
	_grant("retired", {"privilege": {"uri": "urn:dk:old", "status": "retired", "min_loa": "low"}}),
	_grant("constrained", {"constraints": {_kle: "25.*"}, "scope": _p_scope}),
]

test_effective_without_a_level_judges_none if {
	_verdicts(_mixed, _effective(_mixed, {})) == [
		["direct", true, ["grant.direct"]],
		["expired", false, ["grant.expired"]],
		["restricted", true, ["grant.group"]],
		["high", true, ["grant.direct"]],
		["ended", false, ["poa.ended"]],
		["later", false, ["grant.not_yet_valid"]],
		["retired", false, ["privilege.retired"]],
		["constrained", true, ["grant.direct"]],
	]
}

test_effective_at_a_level if {
	got := _verdicts(_mixed, _effective(_mixed, {"level": "substantial"}))
	got[3] == ["high", false, ["level.too_low"]]
	got[0] == ["direct", true, ["grant.direct"]]
}

test_effective_of_a_deactivated_user if {
	grants := [_grant("a", {}), _grant("b", {"valid_to": _past})]
	_verdicts(grants, _effective(grants, {"identity": {"status": "deactivated"}})) == [
		["a", false, ["identity.not_active"]],
		["b", false, ["identity.not_active", "grant.expired"]],
	]
}

test_effective_of_no_grants if {
	_effective([], {}) == {"in_effect": {}, "not_in_effect": {}}
}

test_effective_reasons_name_their_grant_when_not_in_effect if {
	e := _effective(_mixed, {"level": "low"})
	every _, r in e.in_effect {
		object.keys(r) == {"code", "message"}
	}
	every i, reasons in e.not_in_effect {
		every r in reasons {
			r.grant == _mixed[i].id
		}
	}
}

# The effective grants' fast path agrees with the table of checks: a grant is
# in effect exactly when it fails no check.
test_effective_agrees_with_the_checks if {
	every level in [null, "low", "substantial", "high"] {
		q := {"now": _now, "level": level, "identity": {"status": "active"}, "grants": _mixed}
		in_effect := object.keys(rights._in_effect) with input as q
		all := numbers.range(0, count(_mixed) - 1)
		clean := {i |
			some i in all
			not _has_fail(i) with input as q with rights._explain_indices as {j | some j in all}
		}
		in_effect == clean
	}
}
