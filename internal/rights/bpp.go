package rights

import (
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/bpp"
	"github.com/erhverv/erhverv/internal/domain"
)

// Profile writes the grants in effect for one IT system as an OIO Basic
// Privilege Profile document, the privileges a login to that system carries.
// Grants not in effect (by the policy's verdict in Effective, which already
// weighs the login's level) are left out, so a service provider only ever
// sees what the policy would allow.
func Profile(effective []Effective, itSystemID uuid.UUID) bpp.Document {
	return profile(effective, func(p Privilege) bool { return p.ITSystemID == itSystemID })
}

// ProfileAll is Profile for every IT system at once, for listing what an
// identity holds.
func ProfileAll(effective []Effective) bpp.Document {
	return profile(effective, func(Privilege) bool { return true })
}

func profile(effective []Effective, want func(Privilege) bool) bpp.Document {
	var doc bpp.Document
	for _, e := range effective {
		if !e.InEffect || !want(e.Grant.Privilege) {
			continue
		}
		scope, ok := grantScope(e.Grant)
		if !ok {
			continue
		}
		g := bpp.Group{Scope: scope.URI(), Privileges: []string{e.Grant.Privilege.URI}}
		for name, value := range e.Grant.Constraints {
			g.Constraints = append(g.Constraints, bpp.Constraint{Name: name, Value: value})
		}
		doc.Groups = append(doc.Groups, g)
	}
	// Normalize merges groups of equal scope and constraints and orders
	// everything, so the same grants always give the same document.
	return bpp.Normalize(doc)
}

// grantScope is the scope a grant gives its privilege for, as the policy's
// group.restricted and scope.mismatch checks read it together: a group
// restricted to a unit gives its privileges only for that unit, so a grant
// of the unit's CVR (or of the unit itself) is written with the unit's scope,
// and a grant of another unit gives nothing and is left out.
func grantScope(g Grant) (domain.Scope, bool) {
	if g.Group == nil || g.Group.Restriction == nil {
		return g.Scope, true
	}
	r := *g.Group.Restriction
	switch {
	case g.Scope == r:
		return r, true
	case g.Scope.Kind == domain.ScopeCVR && r.Kind != domain.ScopeCVR:
		// The restriction is a unit of the group's own organisation, whose
		// CVR is the one granted (assignments are checked against both).
		return r, true
	}
	return domain.Scope{}, false
}
