package erhverv.rights_test

import data.erhverv.rights

# Each case: grants, overrides of the question, whether it allows, and the
# reasons as [grant, code] pairs ("" when a reason names no grant).
_cases := {
	"a direct grant allows": {
		"grants": [_grant("a", {})],
		"allow": true, "reasons": [["a", "grant.direct"]],
	},
	"a grant from valid_from on allows": {
		"grants": [_grant("a", {"valid_from": _now, "valid_to": _future})],
		"allow": true, "reasons": [["a", "grant.direct"]],
	},
	"a grant not valid yet": {
		"grants": [_grant("a", {"valid_from": _future})],
		"reasons": [["a", "grant.not_yet_valid"]],
	},
	"an expired grant": {
		"grants": [_grant("a", {"valid_from": _past, "valid_to": _now})],
		"reasons": [["a", "grant.expired"]],
	},
	"a deactivated user holds nothing": {
		"grants": [_grant("a", {})], "question": {"identity": {"status": "deactivated"}},
		"reasons": [["", "identity.not_active"]],
	},
	"a pending user holds nothing": {
		"grants": [_grant("a", {})], "question": {"identity": {"status": "pending"}},
		"reasons": [["", "identity.not_active"]],
	},
	"a question without an identity is denied": {
		"grants": [_grant("a", {})], "question": {"identity": null},
		"reasons": [["", "identity.not_active"]],
	},
	"a login below the minimum level": {
		"grants": [_grant("a", {"privilege": {"uri": _uri, "status": "active", "min_loa": "high"}})],
		"reasons": [["a", "level.too_low"]],
	},
	"a login above the minimum level": {
		"grants": [_grant("a", {"privilege": {"uri": _uri, "status": "active", "min_loa": "low"}})],
		"question": {"level": "high"},
		"allow": true, "reasons": [["a", "grant.direct"]],
	},
	"a question without a level": {
		"grants": [_grant("a", {"privilege": {"uri": _uri, "status": "active", "min_loa": "low"}})],
		"question": {"level": null},
		"reasons": [["a", "level.too_low"]],
	},
	"a retired privilege": {
		"grants": [_grant("a", {"privilege": {"uri": _uri, "status": "retired", "min_loa": "substantial"}})],
		"reasons": [["a", "privilege.retired"]],
	},
	"no grant of the privilege": {
		"grants": [_grant("a", {"privilege": {"uri": "urn:dk:other", "status": "active", "min_loa": "low"}})],
		"reasons": [["", "grant.none"]],
	},
	"no grants at all": {
		"grants": [],
		"reasons": [["", "grant.none"]],
	},
	"an active power of attorney passed on": {
		"grants": [_poa_grant("a", {"valid_from": _past, "valid_to": _future})],
		"question": {"scope": {"kind": "cvr", "value": _other_cvr, "cvr": _other_cvr}},
		"allow": true, "reasons": [["a", "grant.poa"]],
	},
	"a power of attorney naming the user": {
		"grants": [object.union(_poa_grant("a", {}), {"source": "poa_person"})],
		"question": {"scope": {"kind": "cvr", "value": _other_cvr, "cvr": _other_cvr}},
		"allow": true, "reasons": [["a", "grant.poa_person"]],
	},
	"an ended power of attorney": {
		"grants": [_poa_grant("a", {"status": "ended"})],
		"question": {"scope": {"kind": "cvr", "value": _other_cvr, "cvr": _other_cvr}},
		"reasons": [["a", "poa.ended"]],
	},
	"a power of attorney still only offered": {
		"grants": [_poa_grant("a", {"status": "offered"})],
		"question": {"scope": {"kind": "cvr", "value": _other_cvr, "cvr": _other_cvr}},
		"reasons": [["a", "poa.not_active"]],
	},
	"an expired power of attorney": {
		"grants": [_poa_grant("a", {"valid_to": _past})],
		"question": {"scope": {"kind": "cvr", "value": _other_cvr, "cvr": _other_cvr}},
		"reasons": [["a", "poa.expired"]],
	},
	"a power of attorney not valid yet": {
		"grants": [_poa_grant("a", {"valid_from": _future})],
		"question": {"scope": {"kind": "cvr", "value": _other_cvr, "cvr": _other_cvr}},
		"reasons": [["a", "poa.not_yet_valid"]],
	},
	"a constraint value within a prefix": {
		"grants": [_grant("a", {"constraints": {_kle: "25.*"}})],
		"question": {"constraints": {_kle: "25.02.01"}},
		"allow": true, "reasons": [["a", "grant.direct"]],
	},
	"an equal constraint value": {
		"grants": [_grant("a", {"constraints": {_kle: "25.02.01"}})],
		"question": {"constraints": {_kle: "25.02.01"}},
		"allow": true, "reasons": [["a", "grant.direct"]],
	},
	"a constraint type the grant leaves out is free": {
		"grants": [_grant("a", {})],
		"question": {"constraints": {_kle: "99.99"}},
		"allow": true, "reasons": [["a", "grant.direct"]],
	},
	"a constraint value outside the grant": {
		"grants": [_grant("a", {"constraints": {_kle: "25.*"}})],
		"question": {"constraints": {_kle: "26.01"}},
		"reasons": [["a", "constraint.mismatch"]],
	},
	"a value without the star is no prefix": {
		"grants": [_grant("a", {"constraints": {_kle: "25"}})],
		"question": {"constraints": {_kle: "25.02"}},
		"reasons": [["a", "constraint.mismatch"]],
	},
	"a constraint value missing": {
		"grants": [_grant("a", {"constraints": {_kle: "25.*", "urn:x:y": "z"}})],
		"question": {"constraints": {"urn:x:y": "z"}},
		"reasons": [["a", "constraint.missing"]],
	},
	"one reason per failing constraint type": {
		"grants": [_grant("a", {"constraints": {_kle: "25.*", "urn:x:y": "z"}})],
		"question": {"constraints": {"urn:x:y": "w"}},
		"reasons": [["a", "constraint.missing"], ["a", "constraint.mismatch"]],
	},
	"a group restricted to the asked P-number": {
		"grants": [_group_grant("a", {"restriction": {"kind": "p", "value": _p}})],
		"question": {"scope": _p_scope},
		"allow": true, "reasons": [["a", "grant.group"]],
	},
	"a group restricted to a P-number asked for the whole CVR": {
		"grants": [_group_grant("a", {"restriction": {"kind": "p", "value": _p}})],
		"reasons": [["a", "group.restricted"]],
	},
	"a group restricted to another P-number": {
		"grants": [_group_grant("a", {"restriction": {"kind": "p", "value": _other_p}})],
		"question": {"scope": _p_scope},
		"reasons": [["a", "group.restricted"]],
	},
	"a group restricted to an SE-number asked for a P-number": {
		"grants": [_group_grant("a", {"restriction": {"kind": "se", "value": _se}})],
		"question": {"scope": _p_scope},
		"reasons": [["a", "group.restricted"]],
	},
	"an unrestricted group": {
		"grants": [_group_grant("a", {})],
		"question": {"scope": _se_scope},
		"allow": true, "reasons": [["a", "grant.group"]],
	},
	"a CVR grant covers its P-number": {
		"grants": [_grant("a", {})],
		"question": {"scope": _p_scope},
		"allow": true, "reasons": [["a", "grant.direct"]],
	},
	"a CVR grant covers its SE-number": {
		"grants": [_grant("a", {})],
		"question": {"scope": _se_scope},
		"allow": true, "reasons": [["a", "grant.direct"]],
	},
	"a P grant covers its P-number": {
		"grants": [_grant("a", {"scope": _p_scope})],
		"question": {"scope": _p_scope},
		"allow": true, "reasons": [["a", "grant.direct"]],
	},
	"a P grant does not cover its CVR": {
		"grants": [_grant("a", {"scope": _p_scope})],
		"reasons": [["a", "scope.mismatch"]],
	},
	"a P grant does not cover another P-number": {
		"grants": [_grant("a", {"scope": _p_scope})],
		"question": {"scope": {"kind": "p", "value": _other_p, "cvr": _cvr}},
		"reasons": [["a", "scope.mismatch"]],
	},
	"an SE-number is no CVR of the same digits": {
		"grants": [_grant("a", {"scope": {"kind": "se", "value": _cvr, "cvr": _cvr}})],
		"reasons": [["a", "scope.mismatch"]],
	},
	"a CVR grant does not cover another CVR": {
		"grants": [_grant("a", {})],
		"question": {"scope": {"kind": "cvr", "value": _other_cvr, "cvr": _other_cvr}},
		"reasons": [["a", "scope.mismatch"]],
	},
	"a CVR grant does not cover another CVR's P-number": {
		"grants": [_grant("a", {})],
		"question": {"scope": {"kind": "p", "value": _other_p, "cvr": _other_cvr}},
		"reasons": [["a", "scope.mismatch"]],
	},
	"one grant fails, another allows": {
		"grants": [_grant("a", {"valid_to": _past}), _group_grant("b", {}), _grant("c", {"scope": _p_scope})],
		"allow": true, "reasons": [["b", "grant.group"]],
	},
	"every allowing grant is named": {
		"grants": [_grant("a", {}), _group_grant("b", {})],
		"allow": true, "reasons": [["a", "grant.direct"], ["b", "grant.group"]],
	},
	"every failing grant explains itself, in order": {
		"grants": [
			_grant("a", {"valid_to": _past, "scope": _p_scope}),
			_grant("b", {"privilege": {"uri": "urn:dk:other", "status": "active", "min_loa": "low"}}),
			_poa_grant("c", {"status": "ended", "valid_to": _past}),
		],
		"reasons": [
			["a", "grant.expired"], ["a", "scope.mismatch"],
			["c", "poa.ended"], ["c", "poa.expired"], ["c", "scope.mismatch"],
		],
	},
	"a grant from an unknown source": {
		"grants": [_grant("a", {"source": "magic"})],
		"reasons": [["a", "grant.source"]],
	},
	"a malformed grant is never an allow": {
		"grants": [_grant("a", {"source": "poa", "poa": {"id": "p"}})],
		"reasons": [["a", "grant.malformed"]], "malformed": true,
	},
	"a power of attorney of an unknown status": {
		"grants": [_poa_grant("a", {"status": 7})],
		"question": {"scope": {"kind": "cvr", "value": _other_cvr, "cvr": _other_cvr}},
		"reasons": [["a", "poa.not_active"]],
	},
}

test_decisions if {
	every name, c in _cases {
		_decides(name, c)
	}
}

_decides(name, c) if {
	got := _decide(c.grants, object.get(c, "question", {}))
	got.allow == object.get(c, "allow", false)
	_reason_pairs(got) == c.reasons
} else := false if {
	print("case", name, "got", _decide(c.grants, object.get(c, "question", {})))
}

_reason_pairs(d) := [[object.get(r, "grant", ""), r.code] | some r in d.reasons]

test_decision_has_its_shape if {
	every _, c in _cases {
		got := _decide(c.grants, object.get(c, "question", {}))
		object.keys(got) == {"allow", "reasons"}
		every r in got.reasons {
			is_string(r.code)
			is_string(r.message)
			r.message != ""
			object.keys(r) in {{"code", "message"}, {"code", "message", "grant"}}
		}
	}
}

test_no_input_is_denied_with_reasons if {
	got := rights.decision with input as {}
	got.allow == false
	_codes(got) == ["identity.not_active"]
}

test_a_decision_without_a_level_judges_it_too_low if {
	q := object.remove(_question([_grant("a", {"privilege": {"uri": _uri, "status": "active", "min_loa": "low"}})], {}), ["level"])
	got := rights.decision with input as q
	got.allow == false
	_codes(got) == ["level.too_low"]
}

# decision writes _sources and _accepted out for speed: they must say the same.
test_decision_reads_the_sources_as_the_table_says if {
	every source, want in rights._sources {
		got := _decide([_grant("a", {"source": source})], {})
		got.reasons == [object.union(want, {"grant": "a"})]
	}
}

test_decision_reads_the_levels_as_the_table_says if {
	every level in ["low", "substantial", "high"] {
		every minimum in ["low", "substantial", "high"] {
			got := _decide([_grant("a", {"privilege": {"uri": _uri, "status": "active", "min_loa": minimum}})], {"level": level})
			_as_the_table_says(got.allow, level, minimum)
		}
	}
}

_as_the_table_says(true, level, minimum) if minimum in rights._accepted[level]

_as_the_table_says(false, level, minimum) if not minimum in rights._accepted[level]

test_constraint_messages_name_the_type if {
	got := _decide([_grant("a", {"constraints": {_kle: "25.*"}})], {"constraints": {_kle: "26"}})
	got.reasons[0].message == "The value of urn:dk:kombit:KLE is outside the grant's 25.*."
}

# The allow path checks inline what the table of checks checks one by one:
# for every case, the grants that allow are exactly the grants of the asked
# privilege that fail no check.
test_fast_paths_agree_with_the_checks if {
	every name, c in _cases {
		_agrees(name, c)
	}
}

# A malformed grant fails the allow path and no check: that is what
# grant.malformed reports, so its case is left out.
_agrees(name, c) if {
	c.malformed
} else if {
	q := _question(c.grants, object.get(c, "question", {}))
	not q.identity.status == "active"
} else if {
	q := _question(c.grants, object.get(c, "question", {}))
	d := rights.decision with input as q
	allowed := {r.grant | d.allow; some r in d.reasons}
	clean := {q.grants[i].id |
		some i in rights._explain_indices with input as q
		not _has_fail(i) with input as q
	}
	allowed == clean
} else := false if {
	print("the checks disagree with the allow path on", name)
}

_has_fail(i) if {
	some f in rights._fails
	f[0] == i
}
