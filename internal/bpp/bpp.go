// Package bpp reads and writes the OIO Basic Privilege Profile: the XML
// document, carried base64-encoded in the privilegesIntermediate claim, that
// tells a service provider which privileges a business identity holds, for
// which scope and under which constraints.
//
// Writing always produces version 1.2. Reading accepts 1.2 and 1.0.1 and is
// lenient about how child elements are namespaced, as the readers of the
// reference system are, but strict about anything that could change which
// privileges a document grants.
package bpp

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/erhverv/erhverv/internal/domain"
)

// Namespaces of the profile. Namespace is version 1.2, the one written;
// Namespace101 is version 1.0.1, still accepted when reading.
const (
	Namespace    = "http://digst.dk/oiosaml/basic_privilege_profile"
	Namespace101 = "http://itst.dk/oiosaml/basic_privilege_profile"
)

// ClaimName is the OIOSAML 3 attribute (and OIDC claim) that carries the
// document base64-encoded.
const ClaimName = "https://data.gov.dk/model/core/eid/privilegesIntermediate"

// MaxSize bounds a document read, so a hostile document cannot exhaust
// memory; a real one is a few kilobytes.
const MaxSize = 1 << 20

const xsiNamespace = "http://www.w3.org/2001/XMLSchema-instance"

// Document is one privilege list.
type Document struct {
	Groups []Group
}

// Group is one PrivilegeGroup: privileges held for one scope under one set
// of constraints.
type Group struct {
	// Scope is the full scope URI, e.g.
	// urn:dk:gov:saml:cvrNumberIdentifier:12345678 (see ParseScope).
	Scope       string
	Constraints []Constraint
	// Privileges are privilege URIs.
	Privileges []string
}

// Constraint limits a group's privileges to a value of one constraint type,
// e.g. urn:dk:kombit:KLE = 25.*.
type Constraint struct {
	Name  string
	Value string
}

// Normalize returns the canonical form of a document, the form Marshal
// writes: values trimmed of surrounding white space (readers trim them),
// constraints sorted and deduplicated, groups with the same scope and
// constraints merged, privileges sorted and deduplicated, groups without
// privileges dropped (they grant nothing) and groups sorted by scope then
// constraints. Two documents that grant the same normalise equal.
func Normalize(doc Document) Document {
	merged := map[string]*Group{}
	var keys []string
	for _, g := range doc.Groups {
		n := Group{Scope: trim(g.Scope)}
		for _, c := range g.Constraints {
			n.Constraints = append(n.Constraints, Constraint{Name: trim(c.Name), Value: trim(c.Value)})
		}
		slices.SortFunc(n.Constraints, compareConstraint)
		n.Constraints = slices.Compact(n.Constraints)
		k := groupKey(n.Scope, n.Constraints)
		m, ok := merged[k]
		if !ok {
			m = &n
			merged[k] = m
			keys = append(keys, k)
		}
		for _, p := range g.Privileges {
			m.Privileges = append(m.Privileges, trim(p))
		}
	}
	var out Document
	for _, k := range keys {
		g := merged[k]
		if len(g.Privileges) == 0 {
			continue
		}
		slices.Sort(g.Privileges)
		g.Privileges = slices.Compact(g.Privileges)
		out.Groups = append(out.Groups, *g)
	}
	slices.SortFunc(out.Groups, compareGroup)
	return out
}

// Marshal writes the document as version 1.2 in canonical form (see
// Normalize), so the same privileges always give the same bytes. It refuses
// an empty scope, constraint name or privilege, and text that XML cannot
// carry.
func Marshal(doc Document) ([]byte, error) {
	doc = Normalize(doc)
	if err := validate(doc); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<bpp:PrivilegeList xmlns:bpp="` + Namespace + `" xmlns:xsi="` + xsiNamespace + `">` + "\n")
	for _, g := range doc.Groups {
		b.WriteString(`  <PrivilegeGroup Scope="`)
		escape(&b, g.Scope)
		b.WriteString("\">\n")
		for _, c := range g.Constraints {
			b.WriteString(`    <Constraint Name="`)
			escape(&b, c.Name)
			b.WriteString(`">`)
			escape(&b, c.Value)
			b.WriteString("</Constraint>\n")
		}
		for _, p := range g.Privileges {
			b.WriteString("    <Privilege>")
			escape(&b, p)
			b.WriteString("</Privilege>\n")
		}
		b.WriteString("  </PrivilegeGroup>\n")
	}
	b.WriteString("</bpp:PrivilegeList>\n")
	return b.Bytes(), nil
}

// escape writes s escaped for both text and attribute values: EscapeText
// also escapes quotes, tabs and line breaks, so attribute values survive a
// reader's attribute-value normalisation.
func escape(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s)) // a bytes.Buffer never fails
}

func validate(doc Document) error {
	for i, g := range doc.Groups {
		where := "privilege group " + strconv.Itoa(i+1)
		if g.Scope == "" {
			return invalid("%s has no scope", where)
		}
		if err := checkText(where+" scope", g.Scope); err != nil {
			return err
		}
		for _, c := range g.Constraints {
			if c.Name == "" {
				return invalid("%s has a constraint without a name", where)
			}
			if err := checkText(where+" constraint name", c.Name); err != nil {
				return err
			}
			if err := checkText(where+" constraint value", c.Value); err != nil {
				return err
			}
		}
		for _, p := range g.Privileges {
			if p == "" {
				return invalid("%s has an empty privilege", where)
			}
			if err := checkText(where+" privilege", p); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkText refuses what EscapeText would silently replace: invalid UTF-8
// and characters outside XML's Char production.
func checkText(where, s string) error {
	if !utf8.ValidString(s) {
		return invalid("%s is not valid UTF-8", where)
	}
	for _, r := range s {
		if !isXMLChar(r) {
			return invalid("%s contains a character XML cannot carry (%U)", where, r)
		}
	}
	return nil
}

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// trim removes XML white space only, not every Unicode space, so a value
// keeps any non-XML space its issuer meant.
func trim(s string) string { return strings.Trim(s, " \t\r\n") }

func compareConstraint(a, b Constraint) int {
	return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Value, b.Value))
}

func compareGroup(a, b Group) int {
	return cmp.Or(strings.Compare(a.Scope, b.Scope), slices.CompareFunc(a.Constraints, b.Constraints, compareConstraint))
}

// groupKey identifies a scope and constraint set; lengths prefix every part
// so no value can forge another's key.
func groupKey(scope string, cs []Constraint) string {
	var b strings.Builder
	part := func(s string) { fmt.Fprintf(&b, "%d:%s", len(s), s) }
	part(scope)
	for _, c := range cs {
		part(c.Name)
		part(c.Value)
	}
	return b.String()
}

func invalid(format string, args ...any) error {
	return &domain.Error{Code: domain.EINVALID, Key: "bpp.invalid", Message: "Privilege document: " + fmt.Sprintf(format, args...) + "."}
}
