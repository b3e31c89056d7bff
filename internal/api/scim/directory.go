package scim

import (
	"context"
	"maps"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

// Directory is what SCIM needs of the platform's users and groups. Every
// method is confined to the organisation it is given: another
// organisation's user or group is ENOTFOUND.
type Directory interface {
	// FindUsers returns a page of the organisation's users (never deleted
	// ones) and how many match in all.
	FindUsers(ctx context.Context, q postgres.SCIMQuery) ([]*postgres.SCIMUser, int, error)
	// FindUser returns ENOTFOUND for an unknown or deleted user.
	FindUser(ctx context.Context, orgID, id uuid.UUID) (*postgres.SCIMUser, error)
	// CreateUser creates a pending user and mails the activation in lang.
	// EINVALID, ECONFLICT for an email or external id in use.
	CreateUser(ctx context.Context, actor postgres.Actor, u *postgres.SCIMUser, lang string) error
	// UpdateUser saves what u changes in old (read at old.Version): the
	// data, the external id, the status. EINVALID, ENOTFOUND, ECONFLICT
	// (postgres.ErrStale when someone else changed the user first).
	UpdateUser(ctx context.Context, actor postgres.Actor, old, u *postgres.SCIMUser) error
	// DeleteUser deletes the user read at version. ECONFLICT when stale or
	// the last organisation administrator.
	DeleteUser(ctx context.Context, actor postgres.Actor, orgID, id uuid.UUID, version int) error

	// FindGroups returns a page of the organisation's groups, with their
	// members when members is true, and how many match in all.
	FindGroups(ctx context.Context, q postgres.SCIMQuery, members bool) ([]*postgres.SCIMGroup, int, error)
	// FindGroup returns ENOTFOUND for an unknown group.
	FindGroup(ctx context.Context, orgID, id uuid.UUID, members bool) (*postgres.SCIMGroup, error)
	// CreateGroup creates a group with its members. EINVALID, ECONFLICT.
	CreateGroup(ctx context.Context, actor postgres.Actor, g *postgres.SCIMGroup) error
	// UpdateGroup applies ch in one transaction. EINVALID, ENOTFOUND,
	// ECONFLICT.
	UpdateGroup(ctx context.Context, actor postgres.Actor, orgID, id uuid.UUID, ch postgres.SCIMGroupChange) error
	// DeleteGroup deletes a group with its memberships and assignments.
	DeleteGroup(ctx context.Context, actor postgres.Actor, orgID, id uuid.UUID) error
}

// directory is the Directory over the platform's services.
type directory struct {
	admin *postgres.Administration
	users *postgres.UserService
	store *postgres.SCIM
}

var _ Directory = (*directory)(nil)

// NewDirectory returns the Directory that changes users and groups through
// the portal's administration service, with its audit events and mail.
func NewDirectory(admin *postgres.Administration, users *postgres.UserService, store *postgres.SCIM) Directory {
	return &directory{admin: admin, users: users, store: store}
}

func (d *directory) FindUsers(ctx context.Context, q postgres.SCIMQuery) ([]*postgres.SCIMUser, int, error) {
	return d.store.FindUsers(ctx, q)
}

func (d *directory) FindUser(ctx context.Context, orgID, id uuid.UUID) (*postgres.SCIMUser, error) {
	return d.store.FindUser(ctx, orgID, id)
}

func (d *directory) CreateUser(ctx context.Context, actor postgres.Actor, u *postgres.SCIMUser, lang string) error {
	return d.store.CreateUser(ctx, actor, u, lang)
}

func (d *directory) UpdateUser(ctx context.Context, actor postgres.Actor, old, u *postgres.SCIMUser) error {
	if u.CPR != "" && old.HasCPR {
		// The same CPR number again is no change (and no audit event).
		same, err := d.users.MatchCPR(ctx, old.OrgID, old.ID, u.CPR)
		if err != nil {
			return err
		}
		if same {
			u.CPR = ""
			if u.BirthDate.IsZero() {
				u.BirthDate = old.BirthDate
			}
		}
	}
	version := old.Version
	if dataChanged(&old.User, &u.User) {
		next := u.User
		next.ID, next.OrgID, next.Status, next.Version = old.ID, old.OrgID, old.Status, version
		if err := d.admin.UpdateUser(ctx, actor, &next); err != nil {
			return err
		}
		version = next.Version
	}
	if u.ExternalID != old.ExternalID {
		var err error
		if version, err = d.store.SetUserExternalID(ctx, actor, old.OrgID, old.ID, version, u.ExternalID); err != nil {
			return err
		}
	}
	if u.Status != old.Status {
		return d.admin.SetStatus(ctx, actor, old.OrgID, old.ID, version, u.Status)
	}
	return nil
}

// dataChanged reports whether UpdateUser has anything to save.
func dataChanged(old, u *domain.User) bool {
	return u.FirstName != old.FirstName || u.LastName != old.LastName || u.Email != old.Email || u.Phone != old.Phone ||
		!u.BirthDate.Equal(old.BirthDate) || u.CPR != "" || !maps.Equal(nonNil(u.ExtraFields), nonNil(old.ExtraFields))
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func (d *directory) DeleteUser(ctx context.Context, actor postgres.Actor, orgID, id uuid.UUID, version int) error {
	return d.admin.SetStatus(ctx, actor, orgID, id, version, domain.UserDeleted)
}

func (d *directory) FindGroups(ctx context.Context, q postgres.SCIMQuery, members bool) ([]*postgres.SCIMGroup, int, error) {
	return d.store.FindGroups(ctx, q, members)
}

func (d *directory) FindGroup(ctx context.Context, orgID, id uuid.UUID, members bool) (*postgres.SCIMGroup, error) {
	return d.store.FindGroup(ctx, orgID, id, members)
}

func (d *directory) CreateGroup(ctx context.Context, actor postgres.Actor, g *postgres.SCIMGroup) error {
	return d.store.CreateGroup(ctx, actor, g)
}

func (d *directory) UpdateGroup(ctx context.Context, actor postgres.Actor, orgID, id uuid.UUID, ch postgres.SCIMGroupChange) error {
	return d.store.UpdateGroup(ctx, actor, orgID, id, ch)
}

func (d *directory) DeleteGroup(ctx context.Context, actor postgres.Actor, orgID, id uuid.UUID) error {
	return d.admin.DeleteGroup(ctx, actor, orgID, id)
}
