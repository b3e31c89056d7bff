package domain

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
)

// User statuses: created (pending activation) → active → deactivated ↔
// active → deleted.
const (
	UserPending     = "pending"
	UserActive      = "active"
	UserDeactivated = "deactivated"
	UserDeleted     = "deleted"
)

// User is a business identity: one person's professional role in one
// organisation. ID is the professional UUID, persistent and never reused.
type User struct {
	ID        uuid.UUID
	OrgID     uuid.UUID
	FirstName string
	LastName  string
	Email     string
	Phone     string
	// CPR is only ever set on input (create, activation match); it is not
	// read back from storage. HasCPR tells whether one is stored.
	CPR              string
	HasCPR           bool
	BirthDate        time.Time
	ProductionUnitID *uuid.UUID
	SENumberID       *uuid.UUID
	Anonymous        bool
	Status           string
	ExtraFields      map[string]string
	Version          int
	ActivatedAt      *time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
	// SessionsEndedAt is when an administrator last ended the user's
	// sessions: a login from before it no longer counts.
	SessionsEndedAt *time.Time
}

// LoginStillValid reports whether a login at loggedInAt outlives the last
// time an administrator ended the user's sessions.
func (u *User) LoginStillValid(loggedInAt time.Time) bool {
	return LoginOutlives(loggedInAt, u.SessionsEndedAt)
}

// LoginOutlives reports whether a login at loggedInAt came after the user's
// sessions were last ended (sessionsEndedAt; nil: never).
func LoginOutlives(loggedInAt time.Time, sessionsEndedAt *time.Time) bool {
	return sessionsEndedAt == nil || loggedInAt.After(*sessionsEndedAt)
}

// FullName is the name as shown in lists.
func (u *User) FullName() string { return strings.TrimSpace(u.FirstName + " " + u.LastName) }

// Validate checks a user before it is stored. When CPR is given, the birth
// date is taken from it; otherwise a birth date is required.
func (u *User) Validate() error {
	var errs ValidationErrors
	add := errs.Add
	if n := len([]rune(strings.TrimSpace(u.FirstName))); n < 1 || n > 100 {
		add(Invalid("first_name", "user.first_name", "First name must have 1 to 100 characters."))
	}
	if n := len([]rune(strings.TrimSpace(u.LastName))); n < 1 || n > 100 {
		add(Invalid("last_name", "user.last_name", "Last name must have 1 to 100 characters."))
	}
	add(ValidateEmail("email", u.Email))
	if u.Phone != "" {
		add(ValidatePhone("phone", u.Phone))
	}
	if u.CPR != "" {
		born, err := CPRBirthDate("cpr", u.CPR)
		add(err)
		if err == nil {
			if !u.BirthDate.IsZero() && !sameDate(u.BirthDate, born) {
				add(Invalid("birth_date", "user.birth_date_cpr", "The date of birth does not match the CPR number; leave it empty or correct it."))
			}
			u.BirthDate = born
		}
	} else if u.BirthDate.IsZero() && !u.HasCPR {
		add(Invalid("birth_date", "user.birth_date_required", "Give either a CPR number or a date of birth."))
	}
	if !u.BirthDate.IsZero() && (u.BirthDate.Year() < 1880 || u.BirthDate.After(time.Now())) {
		add(Invalid("birth_date", "user.birth_date_range", "The date of birth must lie between 1880 and today."))
	}
	if u.ProductionUnitID != nil && u.SENumberID != nil {
		add(Invalid("production_unit", "user.one_unit", "A user is tied to a P-number or an SE-number, not both."))
	}
	switch u.Status {
	case UserPending, UserActive, UserDeactivated, UserDeleted:
	default:
		add(Invalid("status", "user.status", "Unknown user status."))
	}
	return errs.Err()
}

func sameDate(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// UserFilter selects users of one organisation for a list page, in pages by
// keyset: After is the last (last name, first name, id) of the previous page.
type UserFilter struct {
	OrgID  uuid.UUID
	Query  string // name, email or UUID
	Status string
	// UnitID, Role and GroupID narrow the list to a production unit's
	// users, holders of an administrator role, and a group's members.
	UnitID  *uuid.UUID
	Role    string
	GroupID *uuid.UUID
	// Descending sorts by name from Z to A.
	Descending bool
	After      *UserCursor
	Limit      int
}

// UserCursor is the position after which the next page of users starts.
type UserCursor struct {
	LastName, FirstName string
	ID                  uuid.UUID
}

// PersonLink ties a broker's person login to a business identity.
type PersonLink struct {
	ID            uuid.UUID
	OrgID         uuid.UUID
	UserID        uuid.UUID
	BrokerIssuer  string
	BrokerSubject string
	CreatedAt     time.Time
}

// UserService stores business identities. Every method is limited to the
// organisation it is given: another organisation's user is ENOTFOUND.
type UserService interface {
	// CreateUser stores a new user in status pending. EINVALID for bad fields,
	// ECONFLICT when the person already has a business identity there.
	CreateUser(ctx context.Context, u *User) error
	// FindUserByID returns ENOTFOUND for an unknown id or another
	// organisation's user.
	FindUserByID(ctx context.Context, orgID, id uuid.UUID) (*User, error)
	// FindUsers returns one page of users and whether more follow.
	FindUsers(ctx context.Context, f UserFilter) ([]*User, bool, error)
	// UpdateUser saves changed fields when u.Version is still current, and
	// increments it. EINVALID, ENOTFOUND, ECONFLICT when someone else saved
	// the user first.
	UpdateUser(ctx context.Context, u *User) error
	// SetUserStatus moves a user to another status. EINVALID for a transition
	// the lifecycle does not allow, ENOTFOUND, ECONFLICT on a stale version.
	SetUserStatus(ctx context.Context, orgID, id uuid.UUID, version int, status string) error
	// MatchCPR reports whether cpr is the CPR the user was created with.
	// ENOTFOUND; EINVALID for a malformed CPR.
	MatchCPR(ctx context.Context, orgID, id uuid.UUID, cpr string) (bool, error)
	// LinkPerson links a broker login to a business identity. ECONFLICT when
	// either side is linked already.
	LinkPerson(ctx context.Context, l *PersonLink) error
	// FindIdentitiesOfPerson lists the business identities linked to a
	// broker login, across organisations.
	FindIdentitiesOfPerson(ctx context.Context, issuer, subject string) ([]*User, error)
}

// CanTransition reports whether the user lifecycle allows from → to.
func CanTransition(from, to string) bool {
	switch from {
	case UserPending:
		return to == UserActive || to == UserDeleted
	case UserActive:
		return to == UserDeactivated || to == UserDeleted
	case UserDeactivated:
		return to == UserActive || to == UserDeleted
	}
	return false
}
