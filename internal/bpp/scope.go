package bpp

import "strings"

// Scope kinds, as ParseScope returns them. The first three are
// domain.ScopeCVR, ScopeP and ScopeSE.
const (
	KindCVR = "cvr"
	KindP   = "p"
	KindSE  = "se"
	KindCPR = "cpr"
)

// Scope URI prefixes of the profile.
const (
	PrefixCVR = "urn:dk:gov:saml:cvrNumberIdentifier:"
	PrefixP   = "urn:dk:gov:saml:productionUnitIdentifier:"
	PrefixSE  = "urn:dk:gov:saml:seNumberIdentifier:"
	PrefixCPR = "urn:dk:gov:saml:cprNumberIdentifier:"
)

var scopeKinds = []struct {
	prefix, kind string
	digits       int
}{
	{PrefixCVR, KindCVR, 8},
	{PrefixP, KindP, 10},
	{PrefixSE, KindSE, 8},
	{PrefixCPR, KindCPR, 10},
}

// ParseScope splits a scope URI into its kind (KindCVR, KindP, KindSE or
// KindCPR) and value. It checks only the value's length and digits, not a
// CVR check digit: a reader compares scopes, it does not vouch for them.
// Messages never repeat the value, which may be a CPR number.
func ParseScope(uri string) (kind, value string, err error) {
	for _, k := range scopeKinds {
		v, ok := strings.CutPrefix(uri, k.prefix)
		if !ok {
			continue
		}
		if len(v) != k.digits || strings.Trim(v, "0123456789") != "" {
			return "", "", invalid("a %s scope needs %d digits after %s", k.kind, k.digits, k.prefix)
		}
		return k.kind, v, nil
	}
	return "", "", invalid("a scope starts with %s, %s, %s or %s", PrefixCVR, PrefixP, PrefixSE, PrefixCPR)
}
