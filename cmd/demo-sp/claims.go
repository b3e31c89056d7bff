package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// claimName is one claim under its two names: the platform sends the
// OIOSAML 3 URI or the short name, depending on how the client was
// registered. Reading both keeps the service working with either.
type claimName struct{ oiosaml3, short string }

var (
	claimSpecVersion = claimName{"https://data.gov.dk/model/core/specVersion", "spec_version"}
	claimLoA         = claimName{"https://data.gov.dk/concept/core/nsis/loa", "loa"}
	claimIAL         = claimName{"https://data.gov.dk/concept/core/nsis/ial", "ial"}
	claimAAL         = claimName{"https://data.gov.dk/concept/core/nsis/aal", "aal"}
	claimUUID        = claimName{"https://data.gov.dk/model/core/eid/professional/uuid/persistent", "uuid"}
	claimCVR         = claimName{"https://data.gov.dk/model/core/eid/professional/cvr", "cvr"}
	claimOrgName     = claimName{"https://data.gov.dk/model/core/eid/professional/orgName", "org_name"}
	claimPNumber     = claimName{"https://data.gov.dk/model/core/eid/professional/productionUnit", "production_unit"}
	claimSENumber    = claimName{"https://data.gov.dk/model/core/eid/professional/seNumber", "se_number"}
	claimFullName    = claimName{"https://data.gov.dk/model/core/eid/fullName", "name"}
	claimFirstName   = claimName{"https://data.gov.dk/model/core/eid/firstName", "given_name"}
	claimLastName    = claimName{"https://data.gov.dk/model/core/eid/lastName", "family_name"}
	claimEmail       = claimName{"https://data.gov.dk/model/core/eid/email", "email"}
	claimBPP         = claimName{"https://data.gov.dk/model/core/eid/privilegesIntermediate", "privileges_intermediate"}
	// The JSON privileges have the same name in both styles.
	claimPrivileges = claimName{"privileges", "privileges"}

	allClaimNames = []claimName{
		claimSpecVersion, claimLoA, claimIAL, claimAAL, claimUUID, claimCVR, claimOrgName,
		claimPNumber, claimSENumber, claimFullName, claimFirstName, claimLastName, claimEmail, claimBPP,
	}
)

// The NSIS assurance levels, lowest first.
const (
	loaLow         = "https://data.gov.dk/concept/core/nsis/loa/Low"
	loaSubstantial = "https://data.gov.dk/concept/core/nsis/loa/Substantial"
	loaHigh        = "https://data.gov.dk/concept/core/nsis/loa/High"
)

// levelRank orders the levels; an unknown level ranks 0, below Low.
func levelRank(uri string) int {
	switch strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(uri,
		"https://data.gov.dk/concept/core/nsis/loa/"),
		"https://data.gov.dk/concept/core/nsis/ial/"),
		"https://data.gov.dk/concept/core/nsis/aal/") {
	case "Low":
		return 1
	case "Substantial":
		return 2
	case "High":
		return 3
	}
	return 0
}

// levelView is an assurance level as shown: the URI and a Danish label.
type levelView struct {
	URI   string
	Label string
}

func newLevel(uri string) levelView {
	labels := [...]string{"", "Lav (Low)", "Betydelig (Substantial)", "Høj (High)"}
	return levelView{URI: uri, Label: labels[levelRank(uri)]}
}

// loginView is what the pages show about one login, read from the ID token.
type loginView struct {
	Style       string // "OIOSAML 3" or "korte navne (short)"
	Subject     string
	UUID        string
	Name        string // empty for an anonymous employee
	Email       string
	OrgName     string
	CVR         string
	PNumber     string
	SENumber    string
	SpecVersion string

	LoA, IAL, AAL levelView
	ACR           levelView
	AMR           []string
	AuthTime      string

	// HasPrivileges is false when the claim is missing; Privileges is then
	// empty too, as it is when the employee holds none of the service's.
	HasPrivileges  bool
	Privileges     []privilegeGroupView
	PrivilegesNote string // why the claim could not be read

	BPP     string // the decoded OIO BPP document, indented
	BPPNote string // why it could not be decoded

	Claims []claimRow // every claim of the ID token, sorted by name
}

// privilegeGroupView is one scope with its privileges and constraints.
type privilegeGroupView struct {
	Scope       string // the URI, e.g. urn:dk:gov:saml:cvrNumberIdentifier:12345678
	ScopeLabel  string // e.g. CVR 12345678
	Privileges  []string
	Constraints []claimRow
}

// claimRow is a name and its value as text.
type claimRow struct {
	Name  string
	Value string
}

// claims is a decoded JSON object of claims (ID token or userinfo).
type claims map[string]any

// str returns a claim as a string under either of its names.
func (c claims) str(n claimName) string {
	if v := c.text(n.oiosaml3); v != "" {
		return v
	}
	return c.text(n.short)
}

// text returns the claim key if it is a string.
func (c claims) text(key string) string {
	v, _ := c[key].(string)
	return v
}

// readLogin turns the claims of a verified ID token into the view.
func readLogin(c claims) loginView {
	v := loginView{
		Style:       "korte navne (short)",
		Subject:     c.text("sub"),
		UUID:        c.str(claimUUID),
		Email:       c.str(claimEmail),
		OrgName:     c.str(claimOrgName),
		CVR:         c.str(claimCVR),
		PNumber:     c.str(claimPNumber),
		SENumber:    c.str(claimSENumber),
		SpecVersion: c.str(claimSpecVersion),
		LoA:         newLevel(c.str(claimLoA)),
		IAL:         newLevel(c.str(claimIAL)),
		AAL:         newLevel(c.str(claimAAL)),
		ACR:         newLevel(c.text("acr")),
		AMR:         stringList(c["amr"]),
		Claims:      claimRows(c),
	}
	for _, n := range allClaimNames {
		if _, ok := c[n.oiosaml3]; ok {
			v.Style = "OIOSAML 3"
			break
		}
	}
	v.Name = c.str(claimFullName)
	if v.Name == "" {
		v.Name = strings.TrimSpace(c.str(claimFirstName) + " " + c.str(claimLastName))
	}
	if t, ok := c["auth_time"].(float64); ok {
		v.AuthTime = formatUnix(t)
	}

	if raw, ok := c[claimPrivileges.short]; ok {
		v.HasPrivileges = true
		groups, err := readPrivileges(raw)
		if err != nil {
			v.PrivilegesNote = err.Error()
		}
		v.Privileges = groups
	}
	if b64 := c.str(claimBPP); b64 != "" {
		doc, err := decodeBPP(b64)
		if err != nil {
			v.BPPNote = err.Error()
		}
		v.BPP = doc
	}
	return v
}

// privilegeGroup is one element of the JSON privileges claim, mirroring a
// PrivilegeGroup of the BPP document.
type privilegeGroup struct {
	Scope       string         `json:"scope"`
	Constraints map[string]any `json:"constraints"`
	Privileges  []string       `json:"privileges"`
}

// readPrivileges reads the JSON privileges claim: an array, or a string
// holding one (some providers send JSON-valued claims as strings).
func readPrivileges(raw any) ([]privilegeGroupView, error) {
	var data []byte
	if s, ok := raw.(string); ok {
		data = []byte(s)
	} else {
		var err error
		if data, err = json.Marshal(raw); err != nil {
			return nil, fmt.Errorf("privileges: %w", err)
		}
	}
	var groups []privilegeGroup
	if err := json.Unmarshal(data, &groups); err != nil {
		return nil, fmt.Errorf("privileges er ikke et JSON-array af grupper (not a JSON array of groups): %w", err)
	}
	out := make([]privilegeGroupView, 0, len(groups))
	for _, g := range groups {
		view := privilegeGroupView{Scope: g.Scope, ScopeLabel: scopeLabel(g.Scope), Privileges: g.Privileges}
		for _, name := range sortedKeys(g.Constraints) {
			view.Constraints = append(view.Constraints, claimRow{name, formatValue(g.Constraints[name])})
		}
		out = append(out, view)
	}
	return out, nil
}

// scopeLabel makes a BPP scope URI readable.
func scopeLabel(scope string) string {
	for _, p := range []struct{ prefix, label string }{
		{"urn:dk:gov:saml:cvrNumberIdentifier:", "CVR"},
		{"urn:dk:gov:saml:productionUnitIdentifier:", "P-nummer"},
		{"urn:dk:gov:saml:seNumberIdentifier:", "SE-nummer"},
		{"urn:dk:gov:saml:cprNumberIdentifier:", "CPR"},
	} {
		if rest, ok := strings.CutPrefix(scope, p.prefix); ok {
			return p.label + " " + rest
		}
	}
	return scope
}

// maxBPP bounds the decoded BPP document.
const maxBPP = 1 << 20

// decodeBPP decodes the base64 OIO BPP document and indents it. On an
// error it returns what it could decode, for display.
func decodeBPP(b64 string) (string, error) {
	var doc []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if doc, err = enc.DecodeString(strings.TrimSpace(b64)); err == nil {
			break
		}
	}
	if err != nil {
		return "", fmt.Errorf("privilegesIntermediate er ikke base64 (not base64): %w", err)
	}
	if len(doc) > maxBPP {
		return "", fmt.Errorf("privilegesIntermediate er for stort (too large): %d bytes", len(doc))
	}
	pretty, err := indentXML(doc)
	if err != nil {
		return string(doc), fmt.Errorf("privilegesIntermediate er ikke gyldig XML (not valid XML): %w", err)
	}
	return pretty, nil
}

// indentXML re-indents an XML document by two spaces a level, keeping
// namespace prefixes as written. An element holding only text stays on one
// line.
func indentXML(doc []byte) (string, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	var b strings.Builder
	depth := 0
	open := false // a start tag ends the last line and nothing has followed it yet
	newline := func() {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(strings.Repeat("  ", depth))
	}
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			newline()
			fmt.Fprintf(&b, "<?%s %s?>", t.Target, t.Inst)
		case xml.StartElement:
			newline()
			b.WriteString("<" + qname(t.Name))
			for _, a := range t.Attr {
				b.WriteString(" " + qname(a.Name) + `="`)
				_ = xml.EscapeText(&b, []byte(a.Value))
				b.WriteString(`"`)
			}
			b.WriteString(">")
			depth++
			open = true
		case xml.CharData:
			text := bytes.TrimSpace(t)
			if len(text) == 0 {
				continue
			}
			if !open {
				newline()
			}
			_ = xml.EscapeText(&b, text)
		case xml.EndElement:
			depth--
			if !open {
				newline()
			}
			b.WriteString("</" + qname(t.Name) + ">")
			open = false
		case xml.Comment:
			newline()
			b.WriteString("<!--" + string(t) + "-->")
			open = false
		}
	}
	if depth != 0 {
		return "", errors.New("XML element not closed")
	}
	return b.String(), nil
}

// qname writes a raw XML name with its prefix.
func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// claimRows lists every claim, sorted by name, with its value as text.
func claimRows(c claims) []claimRow {
	rows := make([]claimRow, 0, len(c))
	for _, name := range sortedKeys(c) {
		value := formatValue(c[name])
		if t, ok := c[name].(float64); ok && slices.Contains([]string{"exp", "iat", "nbf", "auth_time"}, name) {
			value += " (" + formatUnix(t) + ")"
		}
		rows = append(rows, claimRow{name, value})
	}
	return rows
}

// formatValue writes a JSON value as text: strings as they are, numbers
// without exponent, everything else as compact JSON.
func formatValue(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case nil:
		return "null"
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}

// formatUnix writes a JSON NumericDate as a UTC time.
func formatUnix(t float64) string {
	return time.Unix(int64(t), 0).UTC().Format("2006-01-02 15:04:05 UTC")
}

// stringList reads a JSON array of strings (amr); other values give nil.
func stringList(v any) []string {
	items, _ := v.([]any)
	var out []string
	for _, item := range items {
		if s, ok := item.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// protocolClaims belong to the ID token alone; userinfo need not repeat them.
var protocolClaims = map[string]bool{
	"iss": true, "aud": true, "exp": true, "iat": true, "nbf": true, "jti": true, "nonce": true,
	"auth_time": true, "acr": true, "amr": true, "azp": true, "client_id": true, "sid": true, "at_hash": true, "c_hash": true,
}

// userinfoView says whether the userinfo endpoint agreed with the ID token.
type userinfoView struct {
	Error string // the call failed
	Diffs []claimDiff
}

// Same reports whether userinfo was called and agreed.
func (u userinfoView) Same() bool { return u.Error == "" && len(u.Diffs) == 0 }

// claimDiff is one claim that differs; a missing side is empty.
type claimDiff struct {
	Name     string
	IDToken  string
	UserInfo string
}

// compareUserinfo compares the userinfo claims with the ID token's,
// leaving out the claims that only the ID token carries.
func compareUserinfo(idToken, userinfo claims) []claimDiff {
	var diffs []claimDiff
	show := func(c claims, name string) string {
		v, ok := c[name]
		if !ok {
			return "(mangler / missing)"
		}
		return formatValue(v)
	}
	names := sortedKeys(idToken)
	for _, name := range sortedKeys(userinfo) {
		if _, ok := idToken[name]; !ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if protocolClaims[name] {
			continue
		}
		a, inToken := idToken[name]
		b, inUserinfo := userinfo[name]
		if inToken && inUserinfo && reflect.DeepEqual(a, b) {
			continue
		}
		diffs = append(diffs, claimDiff{name, show(idToken, name), show(userinfo, name)})
	}
	return diffs
}
