package erhverv.rights_test

import data.erhverv.rights

# Shared fixtures: an organisation (CVR 11111114) with a P-number and an
# SE-number, another organisation, a moment and times around it (ns).

_cvr := "11111114"

_other_cvr := "22222228"

_p := "1000000001"

_other_p := "1000000002"

_se := "30000001"

_uri := "urn:dk:skat:moms:indberet"

_kle := "urn:dk:kombit:KLE"

_now := 1772366400000000000

_past := 1767225600000000000

_future := 1780272000000000000

_cvr_scope := {"kind": "cvr", "value": _cvr, "cvr": _cvr}

_p_scope := {"kind": "p", "value": _p, "cvr": _cvr}

_se_scope := {"kind": "se", "value": _se, "cvr": _cvr}

# _grant is a direct grant of _uri for the whole _cvr, with overrides merged in.
_grant(id, overrides) := object.union(
	{
		"id": id, "source": "direct",
		"privilege": {"uri": _uri, "status": "active", "min_loa": "substantial"},
		"scope": _cvr_scope, "constraints": {},
	},
	overrides,
)

_group_grant(id, restriction) := _grant(id, {"source": "group", "group": object.union(
	{"id": concat("", ["group-", id]), "name": "Bogholderi"},
	restriction,
)})

_poa_grant(id, poa) := _grant(id, {
	"source": "poa",
	"scope": {"kind": "cvr", "value": _other_cvr, "cvr": _other_cvr},
	"poa": object.union({"id": concat("", ["poa-", id]), "status": "active"}, poa),
})

# _question asks about _uri for the whole own CVR at substantial, with
# overrides merged in.
_question(grants, overrides) := object.union(
	{
		"now": _now, "level": "substantial", "identity": {"status": "active"},
		"privilege": _uri, "scope": _cvr_scope, "constraints": {}, "grants": grants,
	},
	overrides,
)

_decide(grants, overrides) := d if {
	d := rights.decision with input as _question(grants, overrides)
}

_codes(d) := [r.code | some r in d.reasons]
