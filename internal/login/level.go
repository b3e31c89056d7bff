package login

import (
	"fmt"
	"strings"
)

// Level is an NSIS level of assurance. The zero value is "none": a login
// without a recognised level satisfies no requirement.
type Level int

// The NSIS levels in increasing order.
const (
	LevelNone Level = iota
	LevelLow
	LevelSubstantial
	LevelHigh
)

var levelNames = [...]string{"", "Low", "Substantial", "High"}

// String is the level's NSIS name ("Substantial"), empty for none.
func (l Level) String() string {
	if l < LevelNone || l > LevelHigh {
		return ""
	}
	return levelNames[l]
}

// URI is the level as an NSIS loa URI, the form brokers send.
func (l Level) URI() string {
	if l == LevelNone {
		return ""
	}
	return "https://data.gov.dk/concept/core/nsis/loa/" + l.String()
}

// ParseLevelName reads a configured level name: Low, Substantial or High.
func ParseLevelName(s string) (Level, error) {
	for l := LevelLow; l <= LevelHigh; l++ {
		if strings.EqualFold(s, l.String()) {
			return l, nil
		}
	}
	return LevelNone, fmt.Errorf("unknown level of assurance %q: use Low, Substantial or High", s)
}

// parseLevelClaim reads a level the way brokers write it: an NSIS URI for
// loa, ial or aal (…/nsis/loa/Substantial), an Idura acr value
// (urn:grn:authn:dk:mitid:substantial) or the bare name. Anything else is
// LevelNone, so an unknown value never counts as assurance.
func parseLevelClaim(v string) Level {
	v = strings.TrimSpace(v)
	var name string
	switch {
	case strings.HasPrefix(v, "https://data.gov.dk/concept/core/nsis/"):
		rest := strings.TrimPrefix(v, "https://data.gov.dk/concept/core/nsis/")
		kind, n, ok := strings.Cut(rest, "/")
		if !ok || (kind != "loa" && kind != "ial" && kind != "aal") {
			return LevelNone
		}
		name = n
	case strings.HasPrefix(v, "urn:grn:authn:dk:mitid:"):
		name = strings.TrimPrefix(v, "urn:grn:authn:dk:mitid:")
	default:
		name = v
	}
	l, err := ParseLevelName(name)
	if err != nil {
		return LevelNone
	}
	return l
}
