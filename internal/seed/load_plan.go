package seed

import (
	"fmt"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
)

// The load-test organisations (fictitious CVR numbers starting with 99,
// valid by modulus 11, none of the demo's).
const (
	LoadCustomerCVR = "99000007" // the customer with the many users
	LoadProviderCVR = "99100001" // the service provider whose client asks
)

// The fixed parts of the load-test data set.
const (
	// LoadUnits is the customer's production units; user i works at unit
	// i % LoadUnits.
	LoadUnits = 10
	// LoadPrivileges is the provider's privileges, LoadPrivilegesPerSystem to
	// an IT system. Privileges 0..15 are assigned to users directly, 16..19
	// to groups.
	LoadPrivileges          = 20
	LoadPrivilegesPerSystem = 5
	loadDirectPrivileges    = 16
	// LoadLevel is the assurance level the load test asks at.
	LoadLevel = domain.LoASubstantial
	// LoadKLE is the KLE value questions about a constrained privilege carry;
	// every assignment of one grants "25.*".
	LoadKLE = "25.02.01"
)

var loadSystems = [LoadPrivileges / LoadPrivilegesPerSystem]struct{ slug, name string }{
	{"sag", "Lasttest Sag"}, {"loen", "Lasttest Løn"}, {"moms", "Lasttest Moms"}, {"journal", "Lasttest Journal"},
}

// LoadPlan describes the load-test data set exactly: which user holds which
// privilege, how, and so what a decision about it must answer. Load writes
// it; the load generator (cmd/erhverv-load) reads the same plan to ask a
// realistic mix of questions and to check every answer. Every id is fixed
// (seed.ID of a name), so two databases seeded with the same options hold
// the same rows and runs against them are comparable.
//
// The shape:
//   - user i belongs to production unit i % LoadUnits and to two groups;
//   - holds DirectCount(i) privileges of 0..15 directly, for the customer's
//     CVR, except that every fourth user holds their second one only at
//     their own P-number and every tenth user's third one has expired;
//   - group g holds privileges 16 + g%4 and 16 + (g+1)%4 for the CVR; every
//     fifth group is restricted to production unit g % LoadUnits;
//   - privileges 7 and 15 need level high (the load test asks at
//     substantial, so they deny); every fifth one (4, 9, 14, 19) is
//     constrained by KLE, granted "25.*".
type LoadPlan struct {
	Users       int
	Assignments int
	Groups      int
}

// NewLoadPlan checks the options and returns the plan they describe.
func NewLoadPlan(opts LoadOptions) (LoadPlan, error) {
	p := LoadPlan{Users: opts.Users, Assignments: opts.Assignments, Groups: opts.Groups}
	if p.Users == 0 {
		p.Users = 50_000
	}
	if p.Assignments == 0 {
		p.Assignments = 250_000
	}
	if p.Groups == 0 {
		p.Groups = 50
	}
	switch {
	case p.Users < 1:
		return LoadPlan{}, fmt.Errorf("load plan: %d users: want at least 1", p.Users)
	case p.Groups < 2:
		return LoadPlan{}, fmt.Errorf("load plan: %d groups: want at least 2 (every user is in two)", p.Groups)
	case p.GroupAssignments() > p.Assignments:
		return LoadPlan{}, fmt.Errorf("load plan: %d assignments: want at least %d (two for each group)", p.Assignments, p.GroupAssignments())
	case p.DirectAssignments() > loadDirectPrivileges*p.Users:
		return LoadPlan{}, fmt.Errorf("load plan: %d direct assignments for %d users: at most %d a user; add users or ask for fewer assignments",
			p.DirectAssignments(), p.Users, loadDirectPrivileges)
	}
	return p, nil
}

// CustomerID and ProviderID are the two organisations' ids.
func (LoadPlan) CustomerID() uuid.UUID { return ID("load:org:" + LoadCustomerCVR) }
func (LoadPlan) ProviderID() uuid.UUID { return ID("load:org:" + LoadProviderCVR) }

// UserID is user i's id (0 <= i < Users).
func (LoadPlan) UserID(i int) uuid.UUID { return ID(fmt.Sprintf("load:user:%d", i)) }

// UserUnit is the production unit user i works at.
func (LoadPlan) UserUnit(i int) int { return i % LoadUnits }

// UnitID and UnitPNumber name production unit u (0 <= u < LoadUnits).
func (p LoadPlan) UnitID(u int) uuid.UUID { return ID("load:unit:" + p.UnitPNumber(u)) }
func (LoadPlan) UnitPNumber(u int) string { return fmt.Sprintf("99000000%02d", u) }

// SystemID is IT system s's id.
func (LoadPlan) SystemID(s int) uuid.UUID { return ID("load:system:" + loadSystems[s].slug) }

// PrivilegeID, PrivilegeURI, PrivilegeLoA and PrivilegeConstrained describe
// privilege k (0 <= k < LoadPrivileges).
func (p LoadPlan) PrivilegeID(k int) uuid.UUID { return ID("load:privilege:" + p.PrivilegeURI(k)) }
func (LoadPlan) PrivilegeURI(k int) string {
	return fmt.Sprintf("urn:dk:lasttest:%s:%02d", loadSystems[k/LoadPrivilegesPerSystem].slug, k)
}
func (LoadPlan) PrivilegeLoA(k int) string {
	switch {
	case k == 7 || k == 15:
		return domain.LoAHigh
	case k%3 == 0:
		return domain.LoALow
	}
	return domain.LoASubstantial
}
func (LoadPlan) PrivilegeConstrained(k int) bool { return k%5 == 4 }

// GroupID is group g's id.
func (LoadPlan) GroupID(g int) uuid.UUID { return ID(fmt.Sprintf("load:group:%d", g)) }

// UserGroups are the two groups user i is a member of.
func (p LoadPlan) UserGroups(i int) [2]int {
	first := i % p.Groups
	return [2]int{first, (first + 1 + (i/p.Groups)%(p.Groups-1)) % p.Groups}
}

// GroupPrivileges are the two privileges assigned to group g.
func (LoadPlan) GroupPrivileges(g int) [2]int {
	return [2]int{loadDirectPrivileges + g%4, loadDirectPrivileges + (g+1)%4}
}

// GroupRestriction is the production unit group g is restricted to, if any.
func (LoadPlan) GroupRestriction(g int) (unit int, ok bool) {
	if g%5 == 4 {
		return g % LoadUnits, true
	}
	return 0, false
}

// GroupAssignments and DirectAssignments split Assignments.
func (p LoadPlan) GroupAssignments() int  { return 2 * p.Groups }
func (p LoadPlan) DirectAssignments() int { return p.Assignments - p.GroupAssignments() }

// Memberships is the number of group memberships.
func (p LoadPlan) Memberships() int { return 2 * p.Users }

// DirectCount is how many privileges user i holds directly.
func (p LoadPlan) DirectCount(i int) int {
	n := p.DirectAssignments() / p.Users
	if i < p.DirectAssignments()%p.Users {
		n++
	}
	return n
}

// DirectPrivilege is the privilege of user i's j-th direct assignment
// (0 <= j < DirectCount(i)); distinct for distinct j.
func (LoadPlan) DirectPrivilege(i, j int) int { return (7*i + 3*j) % loadDirectPrivileges }

// DirectAtUnit reports whether user i's j-th direct assignment is for the
// user's P-number only (otherwise it is for the customer's CVR).
func (LoadPlan) DirectAtUnit(i, j int) bool { return j == 1 && i%4 == 0 }

// DirectExpired reports whether user i's j-th direct assignment has expired.
func (LoadPlan) DirectExpired(i, j int) bool { return j == 2 && i%10 == 0 }

// Expect is what a decision must answer when user i is asked about privilege
// k at LoadLevel, with the constraint LoadKLE when k is constrained, for the
// customer's CVR (atUnit false) or for the user's own P-number (atUnit true).
func (p LoadPlan) Expect(i, k int, atUnit bool) bool {
	if domain.LoARank(p.PrivilegeLoA(k)) > domain.LoARank(LoadLevel) {
		return false
	}
	for j := range p.DirectCount(i) {
		if p.DirectPrivilege(i, j) != k || p.DirectExpired(i, j) {
			continue
		}
		if !p.DirectAtUnit(i, j) || atUnit {
			return true
		}
	}
	for _, g := range p.UserGroups(i) {
		for _, gk := range p.GroupPrivileges(g) {
			if gk != k {
				continue
			}
			unit, restricted := p.GroupRestriction(g)
			if !restricted || atUnit && unit == p.UserUnit(i) {
				return true
			}
		}
	}
	return false
}
