// Package authz answers the administrator question "may this subject do this
// action on this object?" by evaluating the Rego policies of package policy in
// an embedded OPA engine.
//
// The input carries only the request: the subject with its roles, the action,
// the object and a little context, all of one organisation. The only data in
// OPA's store is the static catalogue of actions and roles; no organisation's
// rows are ever loaded into it.
package authz

import (
	"errors"
	"time"
)

// Input is one question to the policy. Its JSON form is the policy's input
// document; the tags are the contract shared with the Rego in policy/admin.
type Input struct {
	Subject  Subject  `json:"subject"`
	Action   string   `json:"action"`
	Resource Resource `json:"resource"`
	Context  Context  `json:"context"`
}

// Subject is the business identity acting, in the organisation it acts for.
// Every active identity is implicitly a user of its own organisation; Roles
// holds only its administrator roles.
type Subject struct {
	UserID string      `json:"user_id"`
	OrgID  string      `json:"org_id"`
	Status string      `json:"status"`
	Roles  []RoleGrant `json:"roles"`
}

// RoleGrant is one administrator role. A role with a UnitID reaches only
// objects of that production unit; a role counts only while
// ValidFrom <= now < ValidTo, where a zero bound is open.
type RoleGrant struct {
	Role      string    `json:"role"`
	OrgID     string    `json:"org_id"`
	UnitID    string    `json:"unit_id,omitempty"`
	ValidFrom time.Time `json:"valid_from,omitzero"`
	ValidTo   time.Time `json:"valid_to,omitzero"`
}

// Resource is the object acted on. Only the fields the action needs are set:
// OwnerID for self-service actions, RequesterID and RequestKind for rights
// requests, Role for administrator role assignments, and IsActiveOrgAdmin for
// actions that could remove the last organisation administrator. A nil
// IsActiveOrgAdmin on admin_role.remove counts as active.
type Resource struct {
	Type             string `json:"type"`
	OrgID            string `json:"org_id"`
	ID               string `json:"id,omitempty"`
	UnitID           string `json:"unit_id,omitempty"`
	OwnerID          string `json:"owner_id,omitempty"`
	RequesterID      string `json:"requester_id,omitempty"`
	RequestKind      string `json:"request_kind,omitempty"`
	Role             string `json:"role,omitempty"`
	IsActiveOrgAdmin *bool  `json:"is_active_org_admin,omitempty"`
}

// Context holds the facts of the moment. A zero Now is filled from the
// engine's clock. ActiveOrgAdmins is the number of active organisation
// administrators of the organisation, counting the target of the action.
type Context struct {
	Now             time.Time `json:"now"`
	ActiveOrgAdmins int       `json:"active_org_admins"`
}

// Decision is the policy's answer. Reasons explain it either way: the roles
// that granted the action, or the rules that denied it.
type Decision struct {
	Allow   bool     `json:"allow"`
	Reasons []Reason `json:"reasons"`
}

// Reason is one explanation. Code is a stable identifier that callers and
// translations rely on; Message is a short English sentence for logs and tests.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Codes returns the reason codes in order, handy for tests and logs.
func (d Decision) Codes() []string {
	codes := make([]string, len(d.Reasons))
	for i, r := range d.Reasons {
		codes[i] = r.Code
	}
	return codes
}

// ErrNoDecision means the policy produced no decision for an input. Decide
// then denies: an undefined decision is never an allow.
var ErrNoDecision = errors.New("authz: policy produced no decision")

// StatusActive is the only subject status that may act.
const StatusActive = "active"

// Administrator roles. RoleUser is implicit and never needs to be granted.
const (
	RoleOrgAdmin    = "org_admin"
	RoleUserAdmin   = "user_admin"
	RoleRightsAdmin = "rights_admin"
	RoleUser        = "user"
)

// Kinds of rights request, for Resource.RequestKind.
const (
	RequestKindPrivilege = "privilege"
	RequestKindAdminRole = "admin_role"
)

// Reason codes the policy returns.
const (
	CodeRoleGrantsAction        = "role_grants_action"
	CodeSubjectInactive         = "subject_inactive"
	CodeUnknownAction           = "unknown_action"
	CodeTenantIsolation         = "tenant_isolation"
	CodeNoRole                  = "no_role"
	CodeRoleNotYetValid         = "role_not_yet_valid"
	CodeRoleExpired             = "role_expired"
	CodeUnitScope               = "unit_scope"
	CodeOwnRequest              = "own_request"
	CodeUserAdminCannotApprove  = "user_admin_cannot_approve"
	CodeOnlyOrgAdminGrantsRoles = "only_org_admin_grants_roles"
	CodeLastOrgAdmin            = "last_org_admin"
)
