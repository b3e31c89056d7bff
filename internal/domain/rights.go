package domain

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// NSIS levels of assurance, lowest first.
const (
	LoALow         = "low"
	LoASubstantial = "substantial"
	LoAHigh        = "high"
)

// LoARank orders the levels: a login at rank r satisfies any level <= r.
// Unknown levels rank 0, below Low.
func LoARank(level string) int {
	switch level {
	case LoALow:
		return 1
	case LoASubstantial:
		return 2
	case LoAHigh:
		return 3
	}
	return 0
}

// Scope kinds of an assignment or power of attorney.
const (
	ScopeCVR = "cvr"
	ScopeP   = "p"
	ScopeSE  = "se"
)

// Scope is what an assignment covers: the whole CVR, one P-number or one
// SE-number.
type Scope struct {
	Kind  string
	Value string
}

// Validate checks the value against the kind's format.
func (s Scope) Validate() error {
	switch s.Kind {
	case ScopeCVR:
		return ValidateCVR("scope", s.Value)
	case ScopeP:
		return ValidatePNumber("scope", s.Value)
	case ScopeSE:
		return ValidateSENumber("scope", s.Value)
	}
	return Invalid("scope", "scope.kind", "A scope is a CVR number, a P-number or an SE-number.")
}

// URI prefixes of a scope in an OIO Basic Privilege Profile document.
var scopePrefixes = map[string]string{
	ScopeCVR: "urn:dk:gov:saml:cvrNumberIdentifier:",
	ScopeP:   "urn:dk:gov:saml:productionUnitIdentifier:",
	ScopeSE:  "urn:dk:gov:saml:seNumberIdentifier:",
}

// URI returns the scope as written in a privilege document.
func (s Scope) URI() string { return scopePrefixes[s.Kind] + s.Value }

// ITSystem is a professional service owned by a service provider.
type ITSystem struct {
	ID          uuid.UUID
	OrgID       uuid.UUID // the service provider
	Name        string
	Description string
	Status      string // active, retired
	CreatedAt   time.Time
}

// Validate checks an IT system before it is stored.
func (s *ITSystem) Validate() error {
	if n := len([]rune(strings.TrimSpace(s.Name))); n < 1 || n > 200 {
		return Invalid("name", "itsystem.name", "An IT system's name must have 1 to 200 characters.")
	}
	return nil
}

var privilegeURI = regexp.MustCompile(`^(urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:\S+|https?://\S+)$`)

// Privilege is a right a service provider publishes for one IT system.
type Privilege struct {
	ID              uuid.UUID
	OrgID           uuid.UUID
	ITSystemID      uuid.UUID
	URI             string
	NameDA          string
	NameEN          string
	DescriptionDA   string
	DescriptionEN   string
	ConstraintTypes []string
	MinLoA          string
	GroupAssignable bool
	NeedsApproval   bool
	Status          string // active, retired
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Validate checks a privilege before it is published.
func (p *Privilege) Validate() error {
	var errs ValidationErrors
	if len(p.URI) > 500 || !privilegeURI.MatchString(p.URI) {
		errs = append(errs, Invalid("uri", "privilege.uri", "A privilege identifier is a URN (urn:dk:...) or an http(s) URI without spaces."))
	}
	if n := len([]rune(strings.TrimSpace(p.NameDA))); n < 1 || n > 200 {
		errs = append(errs, Invalid("name_da", "privilege.name_da", "The Danish name must have 1 to 200 characters."))
	}
	if n := len([]rune(strings.TrimSpace(p.NameEN))); n < 1 || n > 200 {
		errs = append(errs, Invalid("name_en", "privilege.name_en", "The English name must have 1 to 200 characters."))
	}
	if LoARank(p.MinLoA) == 0 {
		errs = append(errs, Invalid("min_loa", "privilege.min_loa", "The minimum assurance level is low, substantial or high."))
	}
	for _, t := range p.ConstraintTypes {
		if !privilegeURI.MatchString(t) {
			errs = append(errs, Invalid("constraint_types", "privilege.constraint_type", fmt.Sprintf("Constraint type %q is not a URI.", t)))
		}
	}
	return errs.Err()
}

// Assignment gives a privilege to a user or a group of the organisation.
type Assignment struct {
	ID               uuid.UUID
	OrgID            uuid.UUID
	PrivilegeID      uuid.UUID
	UserID           *uuid.UUID
	GroupID          *uuid.UUID
	Scope            Scope
	ConstraintValues map[string]string
	ValidFrom        *time.Time
	ValidTo          *time.Time
	GrantedBy        *uuid.UUID
	ViaPoAID         *uuid.UUID
	CreatedAt        time.Time
}

// Validate checks an assignment's own fields; checks against the privilege
// (constraint types, group-assignable) belong to the rights service.
func (a *Assignment) Validate() error {
	var errs ValidationErrors
	if (a.UserID == nil) == (a.GroupID == nil) {
		errs = append(errs, Invalid("holder", "assignment.holder", "Assign the privilege to one user or one group."))
	}
	errs.Add(a.Scope.Validate())
	errs.Add(ValidatePeriod(a.ValidFrom, a.ValidTo))
	return errs.Err()
}

// Rights request kinds and statuses.
const (
	RequestPrivilege = "privilege"
	RequestAdminRole = "admin_role"

	RequestPending   = "pending"
	RequestApproved  = "approved"
	RequestRejected  = "rejected"
	RequestExpired   = "expired"
	RequestWithdrawn = "withdrawn"
)

// RequestLifetime is how long a request stays open before it expires.
const RequestLifetime = 30 * 24 * time.Hour

// RightsRequest is a user's request for a privilege or administrator role.
type RightsRequest struct {
	ID               uuid.UUID
	OrgID            uuid.UUID
	RequesterID      uuid.UUID
	Kind             string
	PrivilegeID      *uuid.UUID
	Role             string
	ProductionUnitID *uuid.UUID
	Scope            *Scope
	ConstraintValues map[string]string
	Reason           string
	Status           string
	DecidedBy        *uuid.UUID
	DecidedAt        *time.Time
	DecisionComment  string
	ExpiresAt        time.Time
	CreatedAt        time.Time
}

// Validate checks a new request.
func (r *RightsRequest) Validate() error {
	var errs ValidationErrors
	switch r.Kind {
	case RequestPrivilege:
		if r.PrivilegeID == nil {
			errs = append(errs, Invalid("privilege", "request.privilege", "Choose the privilege you request."))
		}
	case RequestAdminRole:
		if !slices.Contains(AdminRoles, r.Role) {
			errs = append(errs, Invalid("role", "request.role", "Choose the administrator role you request."))
		}
	default:
		errs = append(errs, Invalid("kind", "request.kind", "A request is for a privilege or an administrator role."))
	}
	if n := len([]rune(strings.TrimSpace(r.Reason))); n < 10 || n > 2000 {
		errs = append(errs, Invalid("reason", "request.reason", "Explain the request in at least 10 characters (at most 2000)."))
	}
	return errs.Err()
}

// PoA statuses.
const (
	PoARequested = "requested" // B asked A
	PoAOffered   = "offered"   // A granted, B has not accepted yet
	PoAActive    = "active"
	PoARejected  = "rejected"
	PoAEnded     = "ended"
)

// PowerOfAttorney lets organisation OrgID (A) pass privileges to
// GranteeOrgID (B), or to one named person in B.
type PowerOfAttorney struct {
	ID            uuid.UUID
	OrgID         uuid.UUID
	GranteeOrgID  uuid.UUID
	GranteeUserID *uuid.UUID
	Status        string
	Scope         Scope
	ValidFrom     *time.Time
	ValidTo       *time.Time
	Privileges    []PoAPrivilege
	RequestedBy   *uuid.UUID
	GrantedBy     *uuid.UUID
	AcceptedBy    *uuid.UUID
	EndedBy       *uuid.UUID
	EndedAt       *time.Time
	// Reason is why the grantee asked for it (a requested one).
	Reason string
	// DecidedBy, DecidedAt and DecisionComment record who rejected it, and
	// why: the grantor a request, the grantee an offer.
	DecidedBy       *uuid.UUID
	DecidedAt       *time.Time
	DecisionComment string
	CreatedAt       time.Time
}

// NamesPerson reports whether the power of attorney is for one named person
// of the grantee rather than the whole organisation: that person holds it
// directly, and the grantee's administrators cannot pass it on.
func (p *PowerOfAttorney) NamesPerson() bool { return p.GranteeUserID != nil }

// Open reports whether the power of attorney is still to be answered or in
// force: requested, offered or active.
func (p *PowerOfAttorney) Open() bool {
	return p.Status == PoARequested || p.Status == PoAOffered || p.Status == PoAActive
}

// ScopeCovers reports whether scope lies within the power of attorney's
// scope, given whether scope is one of the grantor's own numbers (its CVR,
// P-numbers or SE-numbers): a CVR-wide power of attorney covers all of them,
// a P- or SE-number only itself.
func (p *PowerOfAttorney) ScopeCovers(scope Scope, grantorsOwn bool) bool {
	if p.Scope.Kind == ScopeCVR {
		return grantorsOwn
	}
	return scope == p.Scope
}

// PoAPrivilege is one privilege a power of attorney carries.
type PoAPrivilege struct {
	PrivilegeID      uuid.UUID
	ConstraintValues map[string]string
}

// Validate checks a power of attorney before it is stored.
func (p *PowerOfAttorney) Validate() error {
	var errs ValidationErrors
	if p.OrgID == p.GranteeOrgID {
		errs = append(errs, Invalid("grantee", "poa.self", "An organisation cannot grant a power of attorney to itself."))
	}
	errs.Add(p.Scope.Validate())
	errs.Add(ValidatePeriod(p.ValidFrom, p.ValidTo))
	if len(p.Privileges) == 0 {
		errs = append(errs, Invalid("privileges", "poa.privileges", "Choose at least one privilege."))
	}
	if p.Status == PoARequested {
		if n := len([]rune(strings.TrimSpace(p.Reason))); n < 10 || n > 2000 {
			errs = append(errs, Invalid("reason", "poa.reason", "Explain what you need the power of attorney for in at least 10 characters (at most 2000)."))
		}
	}
	return errs.Err()
}

// RightsService stores the catalogue and assignments.
type RightsService interface {
	// CreateITSystem stores a service provider's system. EINVALID, ECONFLICT
	// for a name in use by the provider.
	CreateITSystem(ctx context.Context, s *ITSystem) error
	// PublishPrivilege stores a privilege. EINVALID, ENOTFOUND for an unknown
	// system of the provider, ECONFLICT for a URI in use.
	PublishPrivilege(ctx context.Context, p *Privilege) error
	// FindPrivilegeByURI returns ENOTFOUND.
	FindPrivilegeByURI(ctx context.Context, uri string) (*Privilege, error)
	// ListPrivileges lists the catalogue, by URI.
	ListPrivileges(ctx context.Context) ([]*Privilege, error)
	// CreateAssignment stores an assignment. EINVALID (also for constraint
	// values the privilege does not declare), ENOTFOUND for an unknown
	// privilege, user or group of the organisation.
	CreateAssignment(ctx context.Context, a *Assignment) error
	// ListAssignmentsOfUser lists a user's direct assignments.
	ListAssignmentsOfUser(ctx context.Context, orgID, userID uuid.UUID) ([]*Assignment, error)
}

// AuditEvent is one entry in an organisation's tamper-evident log.
type AuditEvent struct {
	OrgID      *uuid.UUID
	Seq        int64
	OccurredAt time.Time
	ActorID    *uuid.UUID
	ActorLabel string
	Action     string
	TargetType string
	TargetID   string
	Details    json.RawMessage
	RequestID  string
	PrevHash   []byte
	Hash       []byte
}

// AuditVerification is the result of recomputing one chain.
type AuditVerification struct {
	Events   int64
	OK       bool
	BrokenAt int64 // the first seq whose hash does not match; 0 when OK
}

// AuditLog appends to and verifies the hash chains.
type AuditLog interface {
	// AppendAudit adds an event at the end of its organisation's chain.
	AppendAudit(ctx context.Context, e *AuditEvent) error
	// VerifyAudit recomputes an organisation's chain (nil: the platform's).
	VerifyAudit(ctx context.Context, orgID *uuid.UUID) (AuditVerification, error)
}

// PoAConstraintField names the form field of one constraint value of one
// privilege of a power of attorney, where errors about it are reported.
func PoAConstraintField(privilegeID uuid.UUID, typ string) string {
	return "constraint:" + privilegeID.String() + ":" + typ
}
