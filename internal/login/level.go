package login

import (
	"fmt"
	"strings"

	"github.com/erhverv/erhverv/internal/domain"
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
func (l Level) URI() string { return l.NSISURI("loa") }

// NSISURI is the level as the NSIS URI of kind loa, ial or aal
// (https://data.gov.dk/concept/core/nsis/ial/Substantial); empty for none.
func (l Level) NSISURI(kind string) string {
	if l == LevelNone {
		return ""
	}
	return "https://data.gov.dk/concept/core/nsis/" + kind + "/" + l.String()
}

// LoA is the level as the rights model names it (domain.LoALow, ...);
// empty for none.
func (l Level) LoA() string {
	switch l {
	case LevelLow:
		return domain.LoALow
	case LevelSubstantial:
		return domain.LoASubstantial
	case LevelHigh:
		return domain.LoAHigh
	}
	return ""
}

// LevelOfLoA reads the rights model's name of a level; LevelNone for
// anything else.
func LevelOfLoA(loa string) Level {
	for l := LevelLow; l <= LevelHigh; l++ {
		if l.LoA() == loa {
			return l
		}
	}
	return LevelNone
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

// ParseLevelClaim reads a level the way brokers (and services' acr_values) write it: an NSIS URI for
// loa, ial or aal (…/nsis/loa/Substantial), an Idura acr value
// (urn:grn:authn:dk:mitid:substantial) or the bare name. Anything else is
// LevelNone, so an unknown value never counts as assurance.
func ParseLevelClaim(v string) Level {
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
