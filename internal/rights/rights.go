// Package rights answers the runtime question of the platform: does this
// business identity hold this privilege, for this scope and these constraint
// values, now, at this assurance level? And: which privileges does it hold,
// and why?
//
// The facts (an identity's grants: direct, through groups, through powers of
// attorney) are loaded from PostgreSQL by a Store and cached per identity; the
// cache is invalidated on every replica through PostgreSQL LISTEN/NOTIFY. The
// answer is always the Rego policy's (policy/rights), evaluated in an embedded
// OPA: Go only gathers facts and indexes them.
package rights

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
)

// How an identity came to hold a grant.
const (
	// SourceDirect: assigned to the user by the user's organisation.
	SourceDirect = "direct"
	// SourceGroup: assigned to a user group the user is a member of (the
	// group may belong to another organisation).
	SourceGroup = "group"
	// SourcePoA: passed on to the user by the user's organisation from a
	// power of attorney it received.
	SourcePoA = "poa"
	// SourcePoAPerson: a power of attorney that names the user.
	SourcePoAPerson = "poa_person"
)

// Privilege is what a grant gives, as the policy needs it.
type Privilege struct {
	ID           uuid.UUID
	URI          string
	NameDA       string
	NameEN       string
	ITSystemID   uuid.UUID
	ITSystemName string
	ProviderName string
	Status       string // active, retired
	MinLoA       string // low, substantial, high
}

// GroupRef names the group a grant comes through.
type GroupRef struct {
	ID   uuid.UUID
	Name string
	// OrgName is the group's organisation, shown when it is not the user's.
	OrgName string
	// Restriction, when set, limits every privilege of the group to one
	// P-number or SE-number.
	Restriction *domain.Scope
}

// PoARef names the power of attorney a grant comes through.
type PoARef struct {
	ID          uuid.UUID
	Status      string // only active powers of attorney give anything
	GrantorName string
	GrantorCVR  string
	ValidFrom   *time.Time
	ValidTo     *time.Time
}

// Grant is one way an identity holds one privilege.
type Grant struct {
	// ID identifies the grant: the assignment's id, or "poa:<poa id>:<privilege id>"
	// for a power of attorney that names the user.
	ID        string
	Source    string
	Privilege Privilege
	// Scope is what the grant covers; ScopeCVR is the CVR number the scope
	// belongs to (the scope's own value for a CVR scope), so that a grant for
	// a whole CVR covers that CVR's P- and SE-numbers.
	Scope    domain.Scope
	ScopeCVR string
	// GrantorName is the organisation that assigned or granted it.
	GrantorName string
	Constraints map[string]string
	ValidFrom   *time.Time
	ValidTo     *time.Time
	Group       *GroupRef // SourceGroup
	PoA         *PoARef   // SourcePoA, SourcePoAPerson
}

// Identity is everything the policy needs to know about one business identity.
type Identity struct {
	UserID uuid.UUID
	OrgID  uuid.UUID
	OrgCVR string
	Status string // a deactivated user holds nothing
	Grants []Grant
}

// Question asks whether an identity holds a privilege.
type Question struct {
	UserID uuid.UUID
	// Privilege is the privilege's URI.
	Privilege string
	// Scope is the company, P-number or SE-number acted for; nil means the
	// whole CVR of the user's own organisation.
	Scope *domain.Scope
	// Constraints are the values acted on, by constraint type (for example
	// urn:dk:kombit:KLE → 25.02.01).
	Constraints map[string]string
	// Level is the assurance level of the login: low, substantial or high.
	Level string
	// Now is the moment asked about; zero means now.
	Now time.Time
}

// Decision is the policy's answer, explained either way.
type Decision struct {
	Allow   bool     `json:"allow"`
	Reasons []Reason `json:"reasons"`
}

// Reason is one explanation. Code is stable (callers and translations rely
// on it); Message is a short English sentence; Grant is the Grant.ID the
// reason is about, when it is about one.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Grant   string `json:"grant,omitempty"`
}

// Effective is one grant of an identity with the policy's verdict on it:
// whether it is in effect now, and why or why not.
type Effective struct {
	Grant    Grant
	InEffect bool
	Reasons  []Reason
}

// Store loads the facts. The PostgreSQL implementation is postgres.RightsStore.
type Store interface {
	// LoadIdentity returns the identity and all its grants, in effect or
	// not; a domain ENOTFOUND error when there is no such user.
	LoadIdentity(ctx context.Context, userID uuid.UUID) (*Identity, error)
	// ScopeCVR returns the CVR number a P-number or SE-number belongs to
	// (a CVR scope's own value); a domain ENOTFOUND error for an unknown one.
	ScopeCVR(ctx context.Context, scope domain.Scope) (string, error)
}
