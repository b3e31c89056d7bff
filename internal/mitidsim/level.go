package mitidsim

import (
	"fmt"
	"strings"
)

// Level is an NSIS assurance level. The zero value is no level and is never
// valid on an identity or a login.
type Level int

// The NSIS levels in increasing order.
const (
	LevelLow Level = iota + 1
	LevelSubstantial
	LevelHigh
)

var levels = [...]struct{ name, danish string }{
	LevelLow:         {"Low", "Lav"},
	LevelSubstantial: {"Substantial", "Betydelig"},
	LevelHigh:        {"High", "Høj"},
}

// Valid reports whether l is one of Low, Substantial and High.
func (l Level) Valid() bool { return l >= LevelLow && l <= LevelHigh }

// String is the NSIS name ("Substantial"), or "" for no level.
func (l Level) String() string {
	if !l.Valid() {
		return ""
	}
	return levels[l].name
}

// Danish is the level's name on the login page ("Betydelig").
func (l Level) Danish() string {
	if !l.Valid() {
		return ""
	}
	return levels[l].danish
}

// ParseLevel reads a level name: Low, Substantial or High, in any case.
func ParseLevel(s string) (Level, error) {
	for l := LevelLow; l <= LevelHigh; l++ {
		if strings.EqualFold(strings.TrimSpace(s), l.String()) {
			return l, nil
		}
	}
	return 0, fmt.Errorf("unknown assurance level %q: use Low, Substantial or High", s)
}

// MarshalText stores a level by its NSIS name.
func (l Level) MarshalText() ([]byte, error) {
	if !l.Valid() {
		return nil, fmt.Errorf("assurance level %d is not Low, Substantial or High", int(l))
	}
	return []byte(l.String()), nil
}

// UnmarshalText reads a level stored by MarshalText.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

const (
	nsisPrefix      = "https://data.gov.dk/concept/core/nsis/"
	iduraACRPrefix  = "urn:grn:authn:dk:mitid:"
	claimNSISLoA    = nsisPrefix + "loa"
	claimNSISIAL    = nsisPrefix + "ial"
	claimNSISAAL    = nsisPrefix + "aal"
	nsisKindLoA     = "loa"
	nsisKindIAL     = "ial"
	nsisKindAAL     = "aal"
	defaultMinLevel = LevelLow
)

// nsisURI is the level as an NSIS URI of the given kind (loa, ial or aal),
// e.g. https://data.gov.dk/concept/core/nsis/loa/Substantial.
func (l Level) nsisURI(kind string) string { return nsisPrefix + kind + "/" + l.String() }

// iduraACR is the level as Idura writes it: urn:grn:authn:dk:mitid:substantial.
func (l Level) iduraACR() string { return iduraACRPrefix + strings.ToLower(l.String()) }

// parseACRValue reads one acr_values entry: an NSIS loa URI or an Idura
// MitID level. Other values (Idura's business login, say) are not levels.
func parseACRValue(v string) (Level, bool) {
	var name string
	switch {
	case strings.HasPrefix(v, nsisPrefix+nsisKindLoA+"/"):
		name = strings.TrimPrefix(v, nsisPrefix+nsisKindLoA+"/")
		for l := LevelLow; l <= LevelHigh; l++ {
			if name == l.String() {
				return l, true
			}
		}
	case strings.HasPrefix(v, iduraACRPrefix):
		name = strings.TrimPrefix(v, iduraACRPrefix)
		for l := LevelLow; l <= LevelHigh; l++ {
			if name == strings.ToLower(l.String()) {
				return l, true
			}
		}
	}
	return 0, false
}

// supportedACRValues are the acr_values the simulator understands, for
// discovery and for the message refusing anything else.
func supportedACRValues() []string {
	var out []string
	for l := LevelLow; l <= LevelHigh; l++ {
		out = append(out, l.nsisURI(nsisKindLoA))
	}
	for l := LevelLow; l <= LevelHigh; l++ {
		out = append(out, l.iduraACR())
	}
	return out
}

// authenticator is a way of logging in offered on the login page. Its
// authenticator assurance (AAL) caps the login's level together with the
// identity's IAL.
type authenticator struct {
	Value   string // the form value of the authenticator select
	AMR     string // the amr value in the ID token
	Label   string // Danish
	LabelEN string
	AAL     Level
}

// authenticators is the table documented in docs/MITID-SIM.md; the first one
// at or above the requested level is preselected.
var authenticators = []authenticator{
	{Value: "code_app", AMR: "mitid:code_app", Label: "MitID app", LabelEN: "MitID app", AAL: LevelSubstantial},
	{Value: "code_app_high", AMR: "mitid:code_app", Label: "MitID app, høj sikring", LabelEN: "MitID app at High", AAL: LevelHigh},
	{Value: "code_token", AMR: "mitid:code_token", Label: "MitID kodeviser", LabelEN: "MitID code display", AAL: LevelSubstantial},
	{Value: "chip", AMR: "mitid:chip", Label: "MitID chip", LabelEN: "MitID chip", AAL: LevelHigh},
	{Value: "password", AMR: "mitid:password", Label: "Adgangskode", LabelEN: "Password", AAL: LevelLow},
}

func authenticatorByValue(v string) (authenticator, bool) {
	for _, a := range authenticators {
		if a.Value == v {
			return a, true
		}
	}
	return authenticator{}, false
}
