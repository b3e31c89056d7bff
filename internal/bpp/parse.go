package bpp

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
)

// Parse reads a privilege document of version 1.2 or 1.0.1. Child elements
// may be unqualified (as the profile writes them) or in the root's
// namespace. It refuses a document larger than MaxSize, any DOCTYPE, a root
// that is not a PrivilegeList of the profile, unknown elements, a group
// without a scope, a constraint without a name and an empty privilege:
// misreading a privilege list would grant the wrong rights, so anything
// unexpected is an error rather than skipped. Values are trimmed of
// surrounding white space.
func Parse(data []byte) (Document, error) {
	if len(data) > MaxSize {
		return Document{}, invalid("larger than %d bytes", MaxSize)
	}
	p := &parser{d: xml.NewDecoder(bytes.NewReader(data))}
	p.d.Strict = true
	// No CharsetReader: a declared encoding other than UTF-8 is refused.
	doc, err := p.document()
	if err != nil {
		return Document{}, err
	}
	return doc, nil
}

type parser struct {
	d  *xml.Decoder
	ns string // the root's namespace, also allowed on children
	// groups counts PrivilegeGroups read, so messages can point at one
	// without repeating its scope (which may hold a CPR number).
	groups int
}

// next returns the next element start, element end or text, skipping
// comments and processing instructions and refusing DTDs.
func (p *parser) next() (xml.Token, error) {
	for {
		t, err := p.d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, invalid("not well-formed XML (%v)", err)
		}
		switch t := t.(type) {
		case xml.Directive:
			// A DOCTYPE could declare entities; nothing in the profile needs one.
			return nil, invalid("document type declarations (DOCTYPE) are not accepted")
		case xml.Comment, xml.ProcInst:
			continue
		default:
			return t, nil
		}
	}
}

func (p *parser) document() (Document, error) {
	var doc Document
	var root *xml.StartElement
	for root == nil {
		t, err := p.next()
		if err == io.EOF {
			return Document{}, invalid("empty, no PrivilegeList element")
		}
		if err != nil {
			return Document{}, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			root = &t
		case xml.CharData:
			if !blank(t) {
				return Document{}, invalid("text before the root element")
			}
		}
	}
	if root.Name.Local != "PrivilegeList" || (root.Name.Space != Namespace && root.Name.Space != Namespace101) {
		return Document{}, invalid("the root element is %s, want PrivilegeList in namespace %s or %s", name(root.Name), Namespace, Namespace101)
	}
	p.ns = root.Name.Space
	for {
		t, err := p.next()
		if err != nil {
			return Document{}, unexpectedEOF(err)
		}
		switch t := t.(type) {
		case xml.StartElement:
			if !p.is(t.Name, "PrivilegeGroup") {
				return Document{}, invalid("unexpected element %s in PrivilegeList", name(t.Name))
			}
			g, err := p.group(t)
			if err != nil {
				return Document{}, err
			}
			doc.Groups = append(doc.Groups, g)
		case xml.CharData:
			if !blank(t) {
				return Document{}, invalid("text directly inside PrivilegeList")
			}
		case xml.EndElement:
			return doc, p.end()
		}
	}
}

// end makes sure nothing but white space, comments and processing
// instructions follow the root: a second root could hide privileges from
// one reader and show them to another.
func (p *parser) end() error {
	for {
		t, err := p.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := t.(type) {
		case xml.StartElement:
			return invalid("element %s after the root element", name(t.Name))
		case xml.CharData:
			if !blank(t) {
				return invalid("text after the root element")
			}
		}
	}
}

func (p *parser) group(start xml.StartElement) (Group, error) {
	p.groups++
	var g Group
	scope, ok, err := p.attr(start, "Scope")
	if err != nil {
		return Group{}, err
	}
	if !ok || scope == "" {
		return Group{}, invalid("PrivilegeGroup %d has no Scope", p.groups)
	}
	g.Scope = scope
	for {
		t, err := p.next()
		if err != nil {
			return Group{}, unexpectedEOF(err)
		}
		switch t := t.(type) {
		case xml.StartElement:
			switch {
			case p.is(t.Name, "Constraint"):
				cname, ok, err := p.attr(t, "Name")
				if err != nil {
					return Group{}, err
				}
				if !ok || cname == "" {
					return Group{}, invalid("a Constraint in PrivilegeGroup %d has no Name", p.groups)
				}
				v, err := p.text("Constraint")
				if err != nil {
					return Group{}, err
				}
				g.Constraints = append(g.Constraints, Constraint{Name: cname, Value: v})
			case p.is(t.Name, "Privilege"):
				v, err := p.text("Privilege")
				if err != nil {
					return Group{}, err
				}
				if v == "" {
					return Group{}, invalid("an empty Privilege in PrivilegeGroup %d", p.groups)
				}
				g.Privileges = append(g.Privileges, v)
			default:
				return Group{}, invalid("unexpected element %s in PrivilegeGroup", name(t.Name))
			}
		case xml.CharData:
			if !blank(t) {
				return Group{}, invalid("text directly inside PrivilegeGroup")
			}
		case xml.EndElement:
			return g, nil
		}
	}
}

// text reads the trimmed text content of an element that holds no elements.
func (p *parser) text(elem string) (string, error) {
	var b []byte
	for {
		t, err := p.next()
		if err != nil {
			return "", unexpectedEOF(err)
		}
		switch t := t.(type) {
		case xml.StartElement:
			return "", invalid("unexpected element %s in %s", name(t.Name), elem)
		case xml.CharData:
			b = append(b, t...)
		case xml.EndElement:
			return trim(string(b)), nil
		}
	}
}

// attr returns an attribute by local name, unqualified or in the root's
// namespace, refusing a repeated one: encoding/xml does not, and two scopes
// on one group would be read differently by different readers.
func (p *parser) attr(start xml.StartElement, local string) (string, bool, error) {
	var v string
	found := false
	for _, a := range start.Attr {
		if a.Name.Local != local || (a.Name.Space != "" && a.Name.Space != p.ns) {
			continue
		}
		if found {
			return "", false, invalid("%s has more than one %s attribute", start.Name.Local, local)
		}
		v, found = trim(a.Value), true
	}
	return v, found, nil
}

// is reports whether an element is the profile's child element local:
// unqualified, or in the root's namespace.
func (p *parser) is(n xml.Name, local string) bool {
	return n.Local == local && (n.Space == "" || n.Space == p.ns)
}

func blank(b []byte) bool { return len(bytes.Trim(b, " \t\r\n")) == 0 }

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return invalid("not well-formed XML (unexpected end)")
	}
	return err
}

// name renders an element name for a message, shortened so a hostile
// document cannot make the error huge.
func name(n xml.Name) string {
	s := n.Local
	if n.Space != "" {
		s = "{" + n.Space + "}" + n.Local
	}
	const max = 120
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strconv.Quote(s)
}
