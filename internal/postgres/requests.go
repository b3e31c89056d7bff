package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/erhverv/erhverv/internal/domain"
)

type rightsRequestRow struct {
	ID               uuid.UUID `gorm:"type:uuid;default:gen_random_uuid()"`
	OrgID            uuid.UUID
	RequesterID      uuid.UUID
	Kind             string
	PrivilegeID      *uuid.UUID
	Role             *string
	ProductionUnitID *uuid.UUID
	Reason           string
	Status           string
	DecidedBy        *uuid.UUID
	DecidedAt        *time.Time
	DecisionComment  string
	ExpiresAt        time.Time
	CreatedAt        time.Time `gorm:"default:now()"`
	UpdatedAt        time.Time `gorm:"default:now()"`
}

func (rightsRequestRow) TableName() string { return "rights_requests" }

func (r *rightsRequestRow) toDomain() *domain.RightsRequest {
	return &domain.RightsRequest{ID: r.ID, OrgID: r.OrgID, RequesterID: r.RequesterID, Kind: r.Kind, PrivilegeID: r.PrivilegeID,
		Role: derefString(r.Role), ProductionUnitID: r.ProductionUnitID, Reason: r.Reason, Status: r.Status, DecidedBy: r.DecidedBy,
		DecidedAt: r.DecidedAt, DecisionComment: r.DecisionComment, ExpiresAt: r.ExpiresAt, CreatedAt: r.CreatedAt}
}

var errRequestNotFound = &domain.Error{Code: domain.ENOTFOUND, Key: "request.not_found", Message: "The request does not exist."}

// RequestAdminRole records a user's request for an administrator role and
// audits it. A request open for the same role is a conflict.
func (a *Administration) RequestAdminRole(ctx context.Context, actor Actor, orgID uuid.UUID, role, reason string) (*domain.RightsRequest, error) {
	req := &domain.RightsRequest{OrgID: orgID, RequesterID: actor.UserID, Kind: domain.RequestAdminRole, Role: role,
		Reason: strings.TrimSpace(reason), Status: domain.RequestPending}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	now := a.db.Now().UTC()
	row := &rightsRequestRow{OrgID: orgID, RequesterID: actor.UserID, Kind: req.Kind, Role: &req.Role, Reason: req.Reason,
		Status: domain.RequestPending, ExpiresAt: now.Add(domain.RequestLifetime)}
	err := a.db.tx(ctx, func(tx *gorm.DB) error {
		var open int64
		if err := tx.Model(&rightsRequestRow{}).Where("org_id = ? AND requester_id = ? AND kind = ? AND role = ? AND status = ?",
			orgID, actor.UserID, domain.RequestAdminRole, role, domain.RequestPending).Count(&open).Error; err != nil {
			return pgError("check open requests", err)
		}
		if open > 0 {
			return &domain.Error{Code: domain.ECONFLICT, Field: "role", Key: "request.open", Message: "You already have an open request for this role."}
		}
		if err := tx.Create(row).Error; err != nil {
			return pgError("create request", err)
		}
		return appendAudit(tx, now, actor.event(orgID, "rights_request.created", "rights_request", row.ID.String(),
			map[string]any{"kind": req.Kind, "role": role, "reason": req.Reason}))
	})
	if err != nil {
		return nil, err
	}
	return row.toDomain(), nil
}

// FindRequest returns one of the organisation's requests.
func (a *Administration) FindRequest(ctx context.Context, orgID, id uuid.UUID) (*domain.RightsRequest, error) {
	var row rightsRequestRow
	if err := a.db.gorm.WithContext(ctx).Take(&row, "org_id = ? AND id = ?", orgID, id).Error; err != nil {
		return nil, notFoundOr(err, errRequestNotFound, "find request")
	}
	return row.toDomain(), nil
}

// ListRequests lists the organisation's requests in a status (all when
// empty), oldest first; requester limits them to one user's.
func (a *Administration) ListRequests(ctx context.Context, orgID uuid.UUID, status string, requester *uuid.UUID, limit int) ([]*domain.RightsRequest, error) {
	q := a.db.gorm.WithContext(ctx).Where("org_id = ?", orgID)
	if status != "" {
		q = q.Where("status = ?", status)
	}
	if requester != nil {
		q = q.Where("requester_id = ?", *requester)
	}
	var rows []rightsRequestRow
	if err := q.Order("created_at DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, pgError("list requests", err)
	}
	return mapRows(rows, (*rightsRequestRow).toDomain), nil
}

// DecideRequest approves or rejects a pending request with a comment. An
// approved administrator role request assigns the role in the same
// transaction. The requester is told by mail. No one decides their own
// request (the database refuses it too).
func (a *Administration) DecideRequest(ctx context.Context, actor Actor, orgID, id uuid.UUID, approve bool, comment, lang string) error {
	comment = strings.TrimSpace(comment)
	if len([]rune(comment)) > 2000 {
		return domain.Invalid("comment", "request.comment", "A comment has at most 2000 characters.")
	}
	if !approve && comment == "" {
		return domain.Invalid("comment", "request.comment_required", "Say why the request is rejected, so the requester knows.")
	}
	return a.db.tx(ctx, func(tx *gorm.DB) error {
		var row rightsRequestRow
		if err := tx.Clauses(forUpdate).Take(&row, "org_id = ? AND id = ?", orgID, id).Error; err != nil {
			return notFoundOr(err, errRequestNotFound, "find request")
		}
		now := a.db.Now().UTC()
		if row.Status != domain.RequestPending || !now.Before(row.ExpiresAt) {
			return &domain.Error{Code: domain.ECONFLICT, Key: "request.not_pending", Message: "The request has already been decided or has expired."}
		}
		if row.RequesterID == actor.UserID {
			return &domain.Error{Code: domain.EFORBIDDEN, Key: "request.own", Message: "No one decides their own request."}
		}
		status := domain.RequestRejected
		if approve {
			status = domain.RequestApproved
		}
		decider := actor.UserID
		if err := tx.Model(&rightsRequestRow{}).Where("id = ?", id).Updates(map[string]any{
			"status": status, "decided_by": decider, "decided_at": now, "decision_comment": comment,
		}).Error; err != nil {
			return pgError("decide request", err)
		}
		if err := appendAudit(tx, now, actor.event(orgID, "rights_request."+status, "rights_request", id.String(),
			map[string]any{"requester_id": row.RequesterID, "role": derefString(row.Role), "comment": comment})); err != nil {
			return err
		}
		if approve && row.Kind == domain.RequestAdminRole {
			// Only a user still with the organisation gets the role; one who
			// holds it already keeps it, and the request is simply approved.
			var requester userRow
			if err := tx.Clauses(forUpdate).Take(&requester, "org_id = ? AND id = ?", orgID, row.RequesterID).Error; err != nil {
				return notFoundOr(err, errUserNotFound, "find requester")
			}
			if requester.Status != domain.UserActive && requester.Status != domain.UserPending {
				return &domain.Error{Code: domain.ECONFLICT, Key: "request.requester_gone",
					Message: "The requester is no longer an active user; reject the request instead."}
			}
			var held int64
			if err := tx.Model(&adminRoleRow{}).Where("org_id = ? AND user_id = ? AND role = ? AND production_unit_id IS NULL",
				orgID, row.RequesterID, derefString(row.Role)).Count(&held).Error; err != nil {
				return pgError("check held role", err)
			}
			if held > 0 {
				return a.notifyDecision(ctx, tx, actor, &row, approve, comment, lang)
			}
			r := &domain.AdminRole{OrgID: orgID, UserID: row.RequesterID, Role: derefString(row.Role), GrantedBy: &decider}
			if err := assignRoleTx(tx, r); err != nil {
				return err
			}
			if err := appendAudit(tx, now, actor.event(orgID, "admin_role.assigned", "admin_role", r.ID.String(),
				map[string]any{"user_id": r.UserID, "after": roleDetails(r), "request_id": id.String()})); err != nil {
				return err
			}
		}
		return a.notifyDecision(ctx, tx, actor, &row, approve, comment, lang)
	})
}

func (a *Administration) notifyDecision(ctx context.Context, tx *gorm.DB, actor Actor, row *rightsRequestRow, approved bool, comment, lang string) error {
	decision := "rejected"
	if approved {
		decision = "approved"
	}
	data := map[string]string{"Role": derefString(row.Role), "Decision": decision, "ActorName": actor.Label, "Link": a.portalURL}
	if comment != "" {
		data["Comment"] = comment
	}
	return a.notifyUser(ctx, tx, "request_decided", lang, row.OrgID, row.RequesterID, data)
}
