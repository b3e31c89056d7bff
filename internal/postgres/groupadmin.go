package postgres

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/erhverv/erhverv/internal/domain"
)

var errGroupNotFound = &domain.Error{Code: domain.ENOTFOUND, Key: "group.not_found", Message: "The group does not exist."}

// groupDetails is a group as the audit log records it.
func groupDetails(g *domain.Group) map[string]any {
	return map[string]any{"name": g.Name, "description": g.Description, "production_unit_id": uuidString(g.ProductionUnitID),
		"se_number_id": uuidString(g.SENumberID)}
}

// CreateGroup stores a user group and audits it.
func (a *Administration) CreateGroup(ctx context.Context, actor Actor, g *domain.Group) error {
	g.Name, g.Description = strings.TrimSpace(g.Name), strings.TrimSpace(g.Description)
	if err := g.Validate(); err != nil {
		return err
	}
	return a.db.tx(ctx, func(tx *gorm.DB) error {
		row := &groupRow{OrgID: g.OrgID, Name: g.Name, Description: g.Description, ProductionUnitID: g.ProductionUnitID, SeNumberID: g.SENumberID}
		if err := tx.Create(row).Error; err != nil {
			return pgError("create group", err)
		}
		*g = *row.toDomain()
		return appendAudit(tx, a.db.Now().UTC(), actor.event(g.OrgID, "group.created", "group", g.ID.String(), map[string]any{"after": groupDetails(g)}))
	})
}

// UpdateGroup changes a group's name, description and restriction.
func (a *Administration) UpdateGroup(ctx context.Context, actor Actor, g *domain.Group) error {
	g.Name, g.Description = strings.TrimSpace(g.Name), strings.TrimSpace(g.Description)
	if err := g.Validate(); err != nil {
		return err
	}
	return a.db.tx(ctx, func(tx *gorm.DB) error {
		var old groupRow
		if err := tx.Clauses(forUpdate).Take(&old, "org_id = ? AND id = ?", g.OrgID, g.ID).Error; err != nil {
			return notFoundOr(err, errGroupNotFound, "find group")
		}
		if err := tx.Model(&groupRow{}).Where("id = ?", g.ID).Updates(map[string]any{"name": g.Name, "description": g.Description,
			"production_unit_id": g.ProductionUnitID, "se_number_id": g.SENumberID}).Error; err != nil {
			return pgError("update group", err)
		}
		return appendAudit(tx, a.db.Now().UTC(), actor.event(g.OrgID, "group.updated", "group", g.ID.String(),
			map[string]any{"before": groupDetails(old.toDomain()), "after": groupDetails(g)}))
	})
}

// DeleteGroup deletes a group with its memberships and its privileges and
// audits it. Each of the group's assignments is removed first and audited
// as any removal of an assignment is, so the log says which privileges went
// with the group; group.deleted counts them.
func (a *Administration) DeleteGroup(ctx context.Context, actor Actor, orgID, id uuid.UUID) error {
	return a.db.tx(ctx, func(tx *gorm.DB) error {
		now := a.db.Now().UTC()
		var old groupRow
		if err := tx.Clauses(forUpdate).Take(&old, "org_id = ? AND id = ?", orgID, id).Error; err != nil {
			return notFoundOr(err, errGroupNotFound, "find group")
		}
		var members int64
		if err := tx.Model(&groupMemberRow{}).Where("group_id = ?", id).Count(&members).Error; err != nil {
			return pgError("count members", err)
		}
		var assignments []assignmentRow
		if err := tx.Clauses(forUpdate).Where("org_id = ? AND group_id = ?", orgID, id).Order("created_at, id").Find(&assignments).Error; err != nil {
			return pgError("find group assignments", err)
		}
		for i := range assignments {
			if err := removeAssignmentTx(tx, now, actor, &assignments[i]); err != nil {
				return err
			}
		}
		if err := tx.Delete(&groupRow{}, "id = ?", id).Error; err != nil {
			return pgError("delete group", err)
		}
		return appendAudit(tx, now, actor.event(orgID, "group.deleted", "group", id.String(),
			map[string]any{"before": groupDetails(old.toDomain()), "members": members, "assignments": len(assignments)}))
	})
}

// FindMemberCandidate finds the active or pending user with this email in
// the organisation with this CVR number: the person an administrator wants
// to add to a group. Unknown organisation and unknown person are field
// errors.
func (a *Administration) FindMemberCandidate(ctx context.Context, cvr, email string) (*domain.User, error) {
	var errs domain.ValidationErrors
	errs.Add(domain.ValidateCVR("cvr", cvr))
	errs.Add(domain.ValidateEmail("email", email))
	if err := errs.Err(); err != nil {
		return nil, err
	}
	db := a.db.gorm.WithContext(ctx)
	var org organisationRow
	if err := db.Take(&org, "cvr = ? AND status = ?", cvr, domain.OrgActive).Error; err != nil {
		return nil, notFoundOr(err, &domain.Error{Code: domain.ENOTFOUND, Field: "cvr", Key: "group.member_org",
			Message: "No connected organisation has this CVR number."}, "find member organisation")
	}
	var u userRow
	if err := db.Take(&u, "org_id = ? AND lower(email) = lower(?) AND status IN ?", org.ID, email,
		[]string{domain.UserActive, domain.UserPending}).Error; err != nil {
		return nil, notFoundOr(err, &domain.Error{Code: domain.ENOTFOUND, Field: "email", Key: "group.member_user",
			Message: "The organisation has no active user with this email."}, "find member")
	}
	return u.toDomain(), nil
}

// AddGroupMember adds the user (of this or another organisation) to the
// group. A member from another organisation is recorded in that
// organisation's audit log too, so its administrators see who added their
// people to groups elsewhere.
func (a *Administration) AddGroupMember(ctx context.Context, actor Actor, orgID, groupID uuid.UUID, member *domain.User) error {
	return a.db.tx(ctx, func(tx *gorm.DB) error {
		var g groupRow
		if err := tx.Take(&g, "org_id = ? AND id = ?", orgID, groupID).Error; err != nil {
			return notFoundOr(err, errGroupNotFound, "find group")
		}
		m := &groupMemberRow{OrgID: orgID, GroupID: groupID, UserID: member.ID, MemberOrgID: member.OrgID, AddedBy: actor.userRef()}
		if err := tx.Create(m).Error; err != nil {
			if domain.ErrorCode(pgError("", err)) == domain.ECONFLICT {
				return &domain.Error{Code: domain.ECONFLICT, Field: "email", Key: "group.member_exists", Message: "The user is already a member."}
			}
			return pgError("add member", err)
		}
		now := a.db.Now().UTC()
		var memberOrg, groupOrg organisationRow
		if err := tx.Take(&memberOrg, "id = ?", member.OrgID).Error; err != nil {
			return pgError("find member organisation", err)
		}
		if err := appendAudit(tx, now, actor.event(orgID, "group.member_added", "group", groupID.String(),
			map[string]any{"user_id": member.ID, "member_org_cvr": memberOrg.CVR})); err != nil {
			return err
		}
		if member.OrgID == orgID {
			return nil
		}
		if err := tx.Take(&groupOrg, "id = ?", orgID).Error; err != nil {
			return pgError("find group organisation", err)
		}
		e := actor.event(member.OrgID, "group.membership_by_other_org", "user", member.ID.String(),
			map[string]any{"user_id": member.ID, "group_org_cvr": groupOrg.CVR, "group_org_name": groupOrg.Name, "group_name": g.Name})
		e.ActorID = nil // the actor is a business identity of the other organisation
		e.ActorLabel = actor.Label + " (" + groupOrg.Name + ")"
		return appendAudit(tx, now, e)
	})
}

// RemoveGroupMember removes a membership and audits it.
func (a *Administration) RemoveGroupMember(ctx context.Context, actor Actor, orgID, groupID, memberID uuid.UUID) error {
	return a.db.tx(ctx, func(tx *gorm.DB) error {
		var m groupMemberRow
		if err := tx.Take(&m, "org_id = ? AND group_id = ? AND id = ?", orgID, groupID, memberID).Error; err != nil {
			return notFoundOr(err, &domain.Error{Code: domain.ENOTFOUND, Key: "group.member_not_found", Message: "The membership does not exist."}, "find member")
		}
		if err := tx.Delete(&groupMemberRow{}, "id = ?", memberID).Error; err != nil {
			return pgError("remove member", err)
		}
		return appendAudit(tx, a.db.Now().UTC(), actor.event(orgID, "group.member_removed", "group", groupID.String(),
			map[string]any{"user_id": m.UserID}))
	})
}

// GroupMemberView is a member as the group page shows it.
type GroupMemberView struct {
	ID        uuid.UUID
	UserID    uuid.UUID
	Name      string
	Email     string
	OrgName   string
	OrgCVR    string
	External  bool
	Anonymous bool // another organisation's anonymous user: name and email withheld
}

// ListGroupMemberViews lists a group's members with their names and
// organisations.
func (a *Administration) ListGroupMemberViews(ctx context.Context, orgID, groupID uuid.UUID) ([]GroupMemberView, error) {
	var rows []struct {
		ID, UserID, MemberOrgID    uuid.UUID
		FirstName, LastName, Email string
		OrgName, Cvr               string
		Anonymous                  bool
	}
	err := a.db.gorm.WithContext(ctx).Table("group_members m").
		Select("m.id, m.user_id, m.member_org_id, u.first_name, u.last_name, u.email, u.anonymous, o.name AS org_name, o.cvr").
		Joins("JOIN users u ON u.id = m.user_id").Joins("JOIN organisations o ON o.id = m.member_org_id").
		Where("m.org_id = ? AND m.group_id = ? AND u.status <> ?", orgID, groupID, domain.UserDeleted).
		Order("u.last_name, u.first_name").Scan(&rows).Error
	if err != nil {
		return nil, pgError("list members", err)
	}
	out := make([]GroupMemberView, len(rows))
	for i, r := range rows {
		out[i] = GroupMemberView{ID: r.ID, UserID: r.UserID, Name: strings.TrimSpace(r.FirstName + " " + r.LastName), Email: r.Email,
			OrgName: r.OrgName, OrgCVR: r.Cvr, External: r.MemberOrgID != orgID}
		if out[i].External && r.Anonymous {
			// Another organisation's anonymous user: their UUID only.
			out[i].Name, out[i].Email, out[i].Anonymous = "", "", true
		}
	}
	return out, nil
}

// GroupsOfUser lists the organisation's groups the user is a member of
// (never another organisation's groups, whoever the user is).
func (s *GroupService) GroupsOfUser(ctx context.Context, orgID, userID uuid.UUID) ([]*domain.Group, error) {
	var rows []groupRow
	err := s.db.gorm.WithContext(ctx).Model(&groupRow{}).Select("user_groups.*").
		Joins("JOIN group_members m ON m.group_id = user_groups.id").
		Where("user_groups.org_id = ? AND m.user_id = ?", orgID, userID).Order("user_groups.name").Find(&rows).Error
	if err != nil {
		return nil, pgError("groups of user", err)
	}
	return mapRows(rows, (*groupRow).toDomain), nil
}
