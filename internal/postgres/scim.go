package postgres

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/erhverv/erhverv/internal/domain"
)

// SCIM is the storage side of SCIM provisioning (internal/api/scim): the
// filtered, counted searches a directory makes, the external ids it keeps
// for users and groups (migration 00014), and the changes that must carry
// an external id or several memberships in one transaction. Everything
// else SCIM does goes through Administration and UserService.
type SCIM struct {
	db    *DB
	admin *Administration
}

// NewSCIM returns the SCIM store; admin issues the activation of users it
// creates.
func NewSCIM(db *DB, admin *Administration) *SCIM { return &SCIM{db: db, admin: admin} }

// SCIMUser is a business identity with the id the directory knows it by.
type SCIMUser struct {
	domain.User
	ExternalID string
}

// SCIMGroup is a user group with the directory's id and, when asked for,
// its members of its own organisation (members from other organisations,
// added in the portal, are neither shown to nor changed by a directory).
type SCIMGroup struct {
	domain.Group
	ExternalID string
	Members    []SCIMMember
}

// SCIMMember is one member of a group: the user and their name.
type SCIMMember struct {
	UserID  uuid.UUID
	Display string
}

// SCIMQuery selects one page of an organisation's users or groups: Offset
// rows are skipped, Limit returned (0 only counts).
type SCIMQuery struct {
	OrgID  uuid.UUID
	Filter *SCIMFilter // nil: all
	Offset int
	Limit  int
}

// SCIMFilter is a SCIM filter (RFC 7644 §3.4.2.2) translated to the stored
// fields it compares; the scim package builds it, with the attribute names
// and the types of values already checked. Op is "and" or "or" (two Sub),
// "not" (one Sub), "true", "false", or a comparison (eq ne co sw ew gt ge
// lt le pr) of Field with Value: a string, a uuid.UUID
// (id, member; uuid.Nil for an id that is no UUID, which matches nothing)
// or a time.Time (created, modified).
type SCIMFilter struct {
	Op    string
	Field string
	Value any
	Sub   []*SCIMFilter
}

// Fields a SCIMFilter compares. Text fields marked * compare without
// regard to case, as SCIM's caseExact=false attributes do.
const (
	SCIMFieldID             = "id"
	SCIMFieldExternalID     = "external_id"
	SCIMFieldCreated        = "created"
	SCIMFieldModified       = "modified"
	SCIMFieldEmail          = "email"      // users*
	SCIMFieldFirstName      = "first_name" // users*
	SCIMFieldLastName       = "last_name"  // users*
	SCIMFieldFullName       = "full_name"  // users*: first and last name
	SCIMFieldPhone          = "phone"      // users
	SCIMFieldEmployeeNumber = "employee_number"
	SCIMFieldDepartment     = "department" // users*
	SCIMFieldStatus         = "status"     // users
	SCIMFieldGroupName      = "name"       // groups*
	SCIMFieldMember         = "member"     // groups: a member's user id
)

type scimColumn struct {
	expr string
	kind byte // 's' text, 'f' text without case, 'u' uuid, 't' time, 'm' member
}

var scimUserColumns = map[string]scimColumn{
	SCIMFieldID: {"users.id", 'u'}, SCIMFieldExternalID: {"users.external_id", 's'},
	SCIMFieldCreated: {"users.created_at", 't'}, SCIMFieldModified: {"users.updated_at", 't'},
	SCIMFieldEmail: {"users.email", 'f'}, SCIMFieldFirstName: {"users.first_name", 'f'}, SCIMFieldLastName: {"users.last_name", 'f'},
	// The same expression as users_name_trgm_idx, so a co search uses it.
	SCIMFieldFullName: {"(first_name || ' ' || last_name)", 'f'}, SCIMFieldPhone: {"users.phone", 's'},
	SCIMFieldEmployeeNumber: {"(users.extra_fields->>'employee_number')", 's'},
	SCIMFieldDepartment:     {"(users.extra_fields->>'department')", 'f'}, SCIMFieldStatus: {"users.status", 's'},
}

var scimGroupColumns = map[string]scimColumn{
	SCIMFieldID: {"user_groups.id", 'u'}, SCIMFieldExternalID: {"user_groups.external_id", 's'},
	SCIMFieldCreated: {"user_groups.created_at", 't'}, SCIMFieldModified: {"user_groups.updated_at", 't'},
	SCIMFieldGroupName: {"user_groups.name", 'f'}, SCIMFieldMember: {"", 'm'},
}

var scimCompare = map[string]string{"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}

// scimWhere turns f into a WHERE condition with bound parameters only.
func scimWhere(f *SCIMFilter, cols map[string]scimColumn) (string, []any, error) {
	if f == nil {
		return "TRUE", nil, nil
	}
	switch f.Op {
	case "true":
		return "TRUE", nil, nil
	case "false":
		return "FALSE", nil, nil
	case "and", "or", "not":
		if want := map[bool]int{true: 1, false: 2}[f.Op == "not"]; len(f.Sub) != want {
			return "", nil, fmt.Errorf("scim filter: %s needs %d operands", f.Op, want)
		}
		var parts []string
		var args []any
		for _, s := range f.Sub {
			w, a, err := scimWhere(s, cols)
			if err != nil {
				return "", nil, err
			}
			parts, args = append(parts, w), append(args, a...)
		}
		if f.Op == "not" {
			return "NOT COALESCE(" + parts[0] + ", false)", args, nil
		}
		return "(" + parts[0] + " " + strings.ToUpper(f.Op) + " " + parts[1] + ")", args, nil
	}
	col, ok := cols[f.Field]
	if !ok {
		return "", nil, fmt.Errorf("scim filter: no field %q here", f.Field)
	}
	if f.Op == "pr" {
		switch col.kind {
		case 's', 'f':
			return "(" + col.expr + " IS NOT NULL AND " + col.expr + " <> '')", nil, nil
		case 'm':
			return scimMemberExists, nil, nil
		}
		return "TRUE", nil, nil
	}
	bad := fmt.Errorf("scim filter: %s %s %T is not supported", f.Field, f.Op, f.Value)
	switch col.kind {
	case 'u', 'm':
		id, ok := f.Value.(uuid.UUID)
		if !ok || (f.Op != "eq" && f.Op != "ne") {
			return "", nil, bad
		}
		not := map[bool]string{true: "NOT ", false: ""}[f.Op == "ne"]
		if col.kind == 'm' {
			return not + strings.TrimSuffix(scimMemberExists, ")") + " AND m.user_id = ?)", []any{id}, nil
		}
		return not + "(" + col.expr + " = ?)", []any{id}, nil
	case 't':
		v, ok := f.Value.(time.Time)
		if op := scimCompare[f.Op]; ok && op != "" {
			return col.expr + " " + op + " ?", []any{v}, nil
		}
		return "", nil, bad
	}
	v, ok := f.Value.(string)
	if !ok {
		return "", nil, bad
	}
	expr, param := col.expr, "?"
	if col.kind == 'f' {
		expr, param = "lower("+col.expr+")", "lower(?)"
	}
	switch f.Op {
	case "co":
		return expr + " LIKE " + param, []any{"%" + escapeLike(v) + "%"}, nil
	case "sw":
		return expr + " LIKE " + param, []any{escapeLike(v) + "%"}, nil
	case "ew":
		return expr + " LIKE " + param, []any{"%" + escapeLike(v)}, nil
	case "ne":
		return "COALESCE(" + expr + ", '') <> " + param, []any{v}, nil
	}
	if op := scimCompare[f.Op]; op != "" {
		return expr + " " + op + " " + param, []any{v}, nil
	}
	return "", nil, bad
}

// scimMemberExists is true for a group with a living member of its own
// organisation.
const scimMemberExists = "EXISTS (SELECT 1 FROM group_members m JOIN users u ON u.id = m.user_id" +
	" WHERE m.group_id = user_groups.id AND m.member_org_id = user_groups.org_id AND u.status <> 'deleted')"

func init() {
	constraintMessages["users_org_external_id_key"] = &domain.Error{Code: domain.ECONFLICT, Field: "external_id", Key: "scim.external_id_taken",
		Message: "Another user of the organisation has this externalId."}
	constraintMessages["user_groups_org_external_id_key"] = &domain.Error{Code: domain.ECONFLICT, Field: "external_id", Key: "scim.external_id_taken",
		Message: "Another group of the organisation has this externalId."}
}

func validateExternalID(id string) error {
	if len(id) > 255 {
		return domain.Invalid("external_id", "scim.external_id", "An externalId has at most 255 characters.")
	}
	return nil
}

// scimPage counts the rows base selects and reads the page q asks for.
func scimPage[R any](base func() *gorm.DB, order string, q SCIMQuery, rows *[]R) (int, error) {
	var total int64
	if err := base().Count(&total).Error; err != nil {
		return 0, pgError("count", err)
	}
	*rows = []R{}
	if q.Limit <= 0 || int64(q.Offset) >= total {
		return int(total), nil
	}
	if err := base().Order(order).Offset(q.Offset).Limit(q.Limit).Find(rows).Error; err != nil {
		return 0, pgError("find", err)
	}
	return int(total), nil
}

// scimUserRow is a user with its external id. (gorm flattens only
// exported fields, hence the named embedded row.)
type scimUserRow struct {
	Row        userRow `gorm:"embedded"`
	ExternalID *string
}

func (r *scimUserRow) toDomain() *SCIMUser {
	return &SCIMUser{User: *r.Row.toDomain(), ExternalID: derefString(r.ExternalID)}
}

// FindUsers returns a page of the organisation's users (never deleted ones)
// matching q, sorted by name, and how many match in all.
func (s *SCIM) FindUsers(ctx context.Context, q SCIMQuery) ([]*SCIMUser, int, error) {
	where, args, err := scimWhere(q.Filter, scimUserColumns)
	if err != nil {
		return nil, 0, err
	}
	// The literal status condition lets the planner use the partial unique
	// index on (org_id, lower(email)) for a directory's userName eq lookup.
	base := func() *gorm.DB {
		return s.db.gorm.WithContext(ctx).Table("users").Where("users.org_id = ? AND users.status <> 'deleted'", q.OrgID).Where(where, args...)
	}
	var rows []scimUserRow
	total, err := scimPage(base, "last_name, first_name, id", q, &rows)
	if err != nil {
		return nil, 0, err
	}
	return mapRows(rows, (*scimUserRow).toDomain), total, nil
}

// FindUser returns a living user of the organisation: ENOTFOUND for an
// unknown, deleted or other organisation's user.
func (s *SCIM) FindUser(ctx context.Context, orgID, id uuid.UUID) (*SCIMUser, error) {
	users, _, err := s.FindUsers(ctx, SCIMQuery{OrgID: orgID, Filter: &SCIMFilter{Op: "eq", Field: SCIMFieldID, Value: id}, Limit: 1})
	if err == nil && len(users) == 0 {
		err = errUserNotFound
	}
	if err != nil {
		return nil, err
	}
	return users[0], nil
}

// CreateUser creates a pending user with its external id, issues and mails
// the activation (in lang) and audits it, as Administration.CreateUser
// does, in one transaction. EINVALID, ECONFLICT for an email or external
// id in use.
func (s *SCIM) CreateUser(ctx context.Context, actor Actor, u *SCIMUser, lang string) error {
	_, err := s.admin.createUser(ctx, actor, &u.User, lang, userExtras{
		check: validateExternalID(u.ExternalID),
		store: func(tx *gorm.DB, created *domain.User) error {
			err := tx.Table("users").Where("id = ?", created.ID).Update("external_id", optString(u.ExternalID)).Error
			return pgError("set external id", err)
		},
		audit: map[string]any{"external_id": u.ExternalID},
	})
	return err
}

// SetUserExternalID changes a user's external id (optimistic locking on
// version) and audits it; it returns the new version. ENOTFOUND, ECONFLICT
// for a stale version or an external id in use.
func (s *SCIM) SetUserExternalID(ctx context.Context, actor Actor, orgID, id uuid.UUID, version int, externalID string) (int, error) {
	if err := validateExternalID(externalID); err != nil {
		return 0, err
	}
	err := s.db.tx(ctx, func(tx *gorm.DB) error {
		var old scimUserRow
		if err := tx.Table("users").Clauses(forUpdate).Take(&old, "org_id = ? AND id = ? AND status <> 'deleted'", orgID, id).Error; err != nil {
			return notFoundOr(err, errUserNotFound, "find user")
		}
		if old.Row.Version != version {
			return errStale
		}
		if derefString(old.ExternalID) == externalID {
			return nil
		}
		if err := tx.Table("users").Where("id = ?", id).
			Updates(map[string]any{"external_id": optString(externalID), "version": gorm.Expr("version + 1")}).Error; err != nil {
			return pgError("set external id", err)
		}
		version++
		return appendAudit(tx, s.db.Now().UTC(), actor.event(orgID, "user.updated", "user", id.String(), map[string]any{
			"before": map[string]any{"external_id": derefString(old.ExternalID)}, "after": map[string]any{"external_id": externalID}}))
	})
	return version, err
}

type scimGroupRow struct {
	Row        groupRow `gorm:"embedded"`
	ExternalID *string
}

func (r *scimGroupRow) toDomain() *SCIMGroup {
	return &SCIMGroup{Group: *r.Row.toDomain(), ExternalID: derefString(r.ExternalID)}
}

// FindGroups returns a page of the organisation's groups matching q,
// sorted by name, with their members when members is true, and how many
// match in all.
func (s *SCIM) FindGroups(ctx context.Context, q SCIMQuery, members bool) ([]*SCIMGroup, int, error) {
	where, args, err := scimWhere(q.Filter, scimGroupColumns)
	if err != nil {
		return nil, 0, err
	}
	db := s.db.gorm.WithContext(ctx)
	base := func() *gorm.DB {
		return db.Table("user_groups").Where("user_groups.org_id = ?", q.OrgID).Where(where, args...)
	}
	var rows []scimGroupRow
	total, err := scimPage(base, "lower(name), id", q, &rows)
	if err != nil {
		return nil, 0, err
	}
	groups := mapRows(rows, (*scimGroupRow).toDomain)
	if members {
		if err := loadSCIMMembers(db, q.OrgID, groups); err != nil {
			return nil, 0, err
		}
	}
	return groups, total, nil
}

// FindGroup returns a group of the organisation (ENOTFOUND otherwise), with
// its members when members is true.
func (s *SCIM) FindGroup(ctx context.Context, orgID, id uuid.UUID, members bool) (*SCIMGroup, error) {
	q := SCIMQuery{OrgID: orgID, Filter: &SCIMFilter{Op: "eq", Field: SCIMFieldID, Value: id}, Limit: 1}
	groups, _, err := s.FindGroups(ctx, q, members)
	if err == nil && len(groups) == 0 {
		err = errGroupNotFound
	}
	if err != nil {
		return nil, err
	}
	return groups[0], nil
}

// loadSCIMMembers fills in the groups' living members of their own
// organisation, in one query.
func loadSCIMMembers(db *gorm.DB, orgID uuid.UUID, groups []*SCIMGroup) error {
	byID := make(map[uuid.UUID]*SCIMGroup, len(groups))
	for _, g := range groups {
		g.Members, byID[g.ID] = []SCIMMember{}, g
	}
	var rows []struct {
		GroupID, UserID     uuid.UUID
		FirstName, LastName string
	}
	err := db.Table("group_members m").Select("m.group_id, m.user_id, u.first_name, u.last_name").
		Joins("JOIN users u ON u.id = m.user_id").
		Where("m.org_id = ? AND m.group_id IN ? AND m.member_org_id = ? AND u.status <> 'deleted'", orgID, slices.Collect(maps.Keys(byID)), orgID).
		Order("u.last_name, u.first_name, u.id").Scan(&rows).Error
	if err != nil {
		return pgError("list members", err)
	}
	for _, r := range rows {
		g := byID[r.GroupID]
		g.Members = append(g.Members, SCIMMember{UserID: r.UserID, Display: strings.TrimSpace(r.FirstName + " " + r.LastName)})
	}
	return nil
}

// CreateGroup creates a group with its external id and members (users of
// its organisation) and audits each, in one transaction. EINVALID (also
// for a member who is not a living user of the organisation), ECONFLICT
// for a name or external id in use.
func (s *SCIM) CreateGroup(ctx context.Context, actor Actor, g *SCIMGroup) error {
	g.Name, g.Description = strings.TrimSpace(g.Name), strings.TrimSpace(g.Description)
	var errs domain.ValidationErrors
	errs.Add(g.Validate())
	errs.Add(validateExternalID(g.ExternalID))
	if err := errs.Err(); err != nil {
		return err
	}
	var members []uuid.UUID
	for _, m := range g.Members {
		members = append(members, m.UserID)
	}
	return s.db.tx(ctx, func(tx *gorm.DB) error {
		row := &groupRow{OrgID: g.OrgID, Name: g.Name, Description: g.Description, ProductionUnitID: g.ProductionUnitID, SeNumberID: g.SENumberID}
		if err := tx.Create(row).Error; err != nil {
			return pgError("create group", err)
		}
		if err := tx.Table("user_groups").Where("id = ?", row.ID).Update("external_id", optString(g.ExternalID)).Error; err != nil {
			return pgError("set external id", err)
		}
		g.Group = *row.toDomain()
		after := groupDetails(&g.Group)
		after["external_id"] = g.ExternalID
		now := s.db.Now().UTC()
		if err := appendAudit(tx, now, actor.event(g.OrgID, "group.created", "group", g.ID.String(), map[string]any{"after": after})); err != nil {
			return err
		}
		return changeSCIMMembersTx(tx, now, actor, g.OrgID, g.ID, members, nil)
	})
}

// SCIMGroupChange is what a PUT or PATCH changes in a group; nil and empty
// fields change nothing.
type SCIMGroupChange struct {
	Name       *string
	ExternalID *string // "" removes it
	// SetMembers makes Add the group's complete set of members of its own
	// organisation; otherwise Add and Remove are applied. Adding a member
	// twice or removing a non-member is no change.
	SetMembers  bool
	Add, Remove []uuid.UUID
}

// UpdateGroup applies ch to a group of the organisation and audits each
// change, in one transaction. ENOTFOUND, EINVALID, ECONFLICT as for
// CreateGroup.
func (s *SCIM) UpdateGroup(ctx context.Context, actor Actor, orgID, id uuid.UUID, ch SCIMGroupChange) error {
	return s.db.tx(ctx, func(tx *gorm.DB) error {
		var old scimGroupRow
		if err := tx.Table("user_groups").Clauses(forUpdate).Take(&old, "org_id = ? AND id = ?", orgID, id).Error; err != nil {
			return notFoundOr(err, errGroupNotFound, "find group")
		}
		fields, before, after := map[string]any{}, map[string]any{}, map[string]any{}
		if ch.Name != nil && strings.TrimSpace(*ch.Name) != old.Row.Name {
			g := old.Row.toDomain()
			g.Name = strings.TrimSpace(*ch.Name)
			if err := g.Validate(); err != nil {
				return err
			}
			fields["name"], before["name"], after["name"] = g.Name, old.Row.Name, g.Name
		}
		if ch.ExternalID != nil && *ch.ExternalID != derefString(old.ExternalID) {
			if err := validateExternalID(*ch.ExternalID); err != nil {
				return err
			}
			fields["external_id"], before["external_id"], after["external_id"] = optString(*ch.ExternalID), derefString(old.ExternalID), *ch.ExternalID
		}
		now := s.db.Now().UTC()
		if len(fields) > 0 {
			if err := tx.Table("user_groups").Where("id = ?", id).Updates(fields).Error; err != nil {
				return pgError("update group", err)
			}
			if err := appendAudit(tx, now, actor.event(orgID, "group.updated", "group", id.String(),
				map[string]any{"before": before, "after": after})); err != nil {
				return err
			}
		}
		add, remove := ch.Add, ch.Remove
		if ch.SetMembers {
			var current []uuid.UUID
			if err := tx.Table("group_members m").Joins("JOIN users u ON u.id = m.user_id").
				Where("m.group_id = ? AND m.member_org_id = ? AND u.status <> 'deleted'", id, orgID).Pluck("m.user_id", &current).Error; err != nil {
				return pgError("list members", err)
			}
			keep := idSet(ch.Add)
			remove = slices.DeleteFunc(current, func(u uuid.UUID) bool { return keep[u] })
		}
		return changeSCIMMembersTx(tx, now, actor, orgID, id, add, remove)
	})
}

// changeSCIMMembersTx adds and removes members of the organisation's own
// group inside tx, auditing each membership as the portal does. Adding a
// member or removing a non-member is no change; a member to add must be a
// living user of the organisation.
func changeSCIMMembersTx(tx *gorm.DB, now time.Time, actor Actor, orgID, groupID uuid.UUID, add, remove []uuid.UUID) error {
	var existing, found []uuid.UUID
	if ids := append(slices.Clone(add), remove...); len(ids) > 0 {
		if err := tx.Table("group_members").Where("group_id = ? AND user_id IN ?", groupID, ids).Pluck("user_id", &existing).Error; err != nil {
			return pgError("find members", err)
		}
	}
	member := idSet(existing)
	add = distinctIDs(add, func(u uuid.UUID) bool { return !member[u] })
	remove = distinctIDs(remove, func(u uuid.UUID) bool { return member[u] })
	var org organisationRow
	var addedBy *uuid.UUID
	if len(add) > 0 {
		if err := tx.Table("users").Where("org_id = ? AND id IN ? AND status <> 'deleted'", orgID, add).Pluck("id", &found).Error; err != nil {
			return pgError("find members", err)
		}
		if known := idSet(found); len(known) < len(add) {
			missing := add[slices.IndexFunc(add, func(u uuid.UUID) bool { return !known[u] })]
			return domain.Invalid("members", "scim.member", fmt.Sprintf("No user of the organisation has the id %s.", missing))
		}
		if err := tx.Take(&org, "id = ?", orgID).Error; err != nil {
			return pgError("find organisation", err)
		}
		// added_by names a business identity; an API client is none.
		var n int64
		if err := tx.Table("users").Where("id = ? AND org_id = ?", actor.UserID, orgID).Count(&n).Error; err != nil {
			return pgError("find actor", err)
		}
		if n > 0 {
			addedBy = &actor.UserID
		}
	}
	for _, u := range add {
		if err := tx.Create(&groupMemberRow{OrgID: orgID, GroupID: groupID, UserID: u, MemberOrgID: orgID, AddedBy: addedBy}).Error; err != nil {
			return pgError("add member", err)
		}
		if err := appendAudit(tx, now, actor.event(orgID, "group.member_added", "group", groupID.String(),
			map[string]any{"user_id": u, "member_org_cvr": org.CVR})); err != nil {
			return err
		}
	}
	for _, u := range remove {
		if err := tx.Where("group_id = ? AND user_id = ?", groupID, u).Delete(&groupMemberRow{}).Error; err != nil {
			return pgError("remove member", err)
		}
		if err := appendAudit(tx, now, actor.event(orgID, "group.member_removed", "group", groupID.String(), map[string]any{"user_id": u})); err != nil {
			return err
		}
	}
	return nil
}

func idSet(ids []uuid.UUID) map[uuid.UUID]bool {
	m := make(map[uuid.UUID]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// distinctIDs returns the ids for which keep is true, each once, in order.
func distinctIDs(ids []uuid.UUID, keep func(uuid.UUID) bool) []uuid.UUID {
	seen := make(map[uuid.UUID]bool, len(ids))
	var out []uuid.UUID
	for _, id := range ids {
		if !seen[id] && keep(id) {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
