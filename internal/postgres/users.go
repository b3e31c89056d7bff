package postgres

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/erhverv/erhverv/internal/domain"
)

type userRow struct {
	ID               uuid.UUID `gorm:"type:uuid;default:gen_random_uuid()"`
	OrgID            uuid.UUID
	FirstName        string
	LastName         string
	Email            string
	Phone            *string
	CprHmac          []byte
	CprCiphertext    []byte
	BirthDate        *time.Time `gorm:"type:date"` // NULL only once deleted
	ProductionUnitID *uuid.UUID
	SeNumberID       *uuid.UUID
	Anonymous        bool
	Status           string
	ExtraFields      jsonb
	Version          int
	ActivatedAt      *time.Time
	DeactivatedAt    *time.Time
	DeletedAt        *time.Time `gorm:"column:deleted_at"`
	// SessionsEndedAt is written only by Administration.EndSessions.
	SessionsEndedAt *time.Time `gorm:"column:sessions_ended_at;->"`
	CreatedAt       time.Time  `gorm:"default:now()"`
	UpdatedAt       time.Time  `gorm:"default:now()"`
}

func (userRow) TableName() string { return "users" }

func (r *userRow) toDomain() *domain.User {
	u := &domain.User{
		ID: r.ID, OrgID: r.OrgID, FirstName: r.FirstName, LastName: r.LastName, Email: r.Email,
		Phone: derefString(r.Phone), HasCPR: len(r.CprHmac) > 0,
		ProductionUnitID: r.ProductionUnitID, SENumberID: r.SeNumberID, Anonymous: r.Anonymous,
		Status: r.Status, Version: r.Version, ActivatedAt: r.ActivatedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		SessionsEndedAt: r.SessionsEndedAt,
	}
	if r.BirthDate != nil {
		u.BirthDate = *r.BirthDate
	}
	if len(r.ExtraFields) > 0 {
		_ = json.Unmarshal(r.ExtraFields, &u.ExtraFields) // the column is a JSON object by constraint
	}
	return u
}

// UserService implements domain.UserService.
type UserService struct{ db *DB }

var _ domain.UserService = (*UserService)(nil)

// NewUserService returns the user repository.
func NewUserService(db *DB) *UserService { return &UserService{db: db} }

var errUserNotFound = &domain.Error{Code: domain.ENOTFOUND, Key: "user.not_found", Message: "The user does not exist."}

// CreateUser implements domain.UserService.
func (s *UserService) CreateUser(ctx context.Context, u *domain.User) error {
	if u.Status == "" {
		u.Status = domain.UserPending
	}
	if err := u.Validate(); err != nil {
		return err
	}
	return s.createTx(s.db.gorm.WithContext(ctx), u)
}

// createTx stores a validated user inside tx.
func (s *UserService) createTx(tx *gorm.DB, u *domain.User) error {
	row, err := s.fromDomain(u)
	if err != nil {
		return err
	}
	row.Version = 1
	if u.Status == domain.UserActive || u.Status == domain.UserDeactivated {
		now := s.db.Now()
		row.ActivatedAt = &now
	}
	if err := tx.Create(row).Error; err != nil {
		return pgError("create user", err)
	}
	*u = *row.toDomain()
	return nil
}

func (s *UserService) fromDomain(u *domain.User) (*userRow, error) {
	extra, err := json.Marshal(nonNilMap(u.ExtraFields))
	if err != nil {
		return nil, err
	}
	row := &userRow{
		ID: u.ID, OrgID: u.OrgID, FirstName: strings.TrimSpace(u.FirstName), LastName: strings.TrimSpace(u.LastName),
		Email: u.Email, Phone: optString(u.Phone), BirthDate: &u.BirthDate, ProductionUnitID: u.ProductionUnitID,
		SeNumberID: u.SENumberID, Anonymous: u.Anonymous, Status: u.Status, ExtraFields: jsonb(extra), Version: u.Version,
	}
	if u.CPR != "" {
		if s.db.pii == nil {
			return nil, errors.New("create user: no data key configured to protect CPR numbers")
		}
		sealed, err := s.db.pii.Seal(u.CPR)
		if err != nil {
			return nil, err
		}
		row.CprHmac, row.CprCiphertext = s.db.pii.Hash(u.CPR), sealed
	}
	return row, nil
}

// FindUserByID implements domain.UserService.
func (s *UserService) FindUserByID(ctx context.Context, orgID, id uuid.UUID) (*domain.User, error) {
	var row userRow
	err := s.db.gorm.WithContext(ctx).Take(&row, "org_id = ? AND id = ?", orgID, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errUserNotFound
	}
	if err != nil {
		return nil, pgError("find user", err)
	}
	return row.toDomain(), nil
}

// FindUsers implements domain.UserService with keyset pagination on
// (last_name, first_name, id), which the users_org_name_idx index serves.
func (s *UserService) FindUsers(ctx context.Context, f domain.UserFilter) ([]*domain.User, bool, error) {
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	db := s.db.gorm.WithContext(ctx)
	q := db.Where("org_id = ?", f.OrgID)
	if term := strings.TrimSpace(f.Query); term != "" {
		if id, err := uuid.Parse(term); err == nil {
			q = q.Where("id = ?", id)
		} else {
			// The matches are found first (through the trigram indexes) and
			// sorted after: OFFSET 0 keeps the planner from walking the name
			// index in order and filtering 100,000 rows for a rare match.
			like := "%" + escapeLike(strings.ToLower(term)) + "%"
			matches := db.Raw("SELECT * FROM users WHERE org_id = ? AND (lower(first_name || ' ' || last_name) LIKE ? OR lower(email) LIKE ?) OFFSET 0",
				f.OrgID, like, like)
			q = db.Table("(?) AS users", matches)
		}
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	} else {
		q = q.Where("status <> ?", domain.UserDeleted)
	}
	if f.UnitID != nil {
		q = q.Where("production_unit_id = ?", *f.UnitID)
	}
	if f.Role != "" {
		q = q.Where("EXISTS (SELECT 1 FROM admin_roles r WHERE r.user_id = users.id AND r.org_id = ? AND r.role = ?)", f.OrgID, f.Role)
	}
	if f.GroupID != nil {
		q = q.Where("EXISTS (SELECT 1 FROM group_members m WHERE m.user_id = users.id AND m.org_id = ? AND m.group_id = ?)", f.OrgID, *f.GroupID)
	}
	order, cmp := "last_name, first_name, id", ">"
	if f.Descending {
		order, cmp = "last_name DESC, first_name DESC, id DESC", "<"
	}
	if f.After != nil {
		q = q.Where("(last_name, first_name, id) "+cmp+" (?, ?, ?)", f.After.LastName, f.After.FirstName, f.After.ID)
	}
	var rows []userRow
	if err := q.Order(order).Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, false, pgError("find users", err)
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	return mapRows(rows, (*userRow).toDomain), more, nil
}

// UpdateUser implements domain.UserService with optimistic locking: the
// update applies only where the stored version is the one the editor read.
func (s *UserService) UpdateUser(ctx context.Context, u *domain.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	row, err := s.fromDomain(u)
	if err != nil {
		return err
	}
	fields := map[string]any{
		"first_name": row.FirstName, "last_name": row.LastName, "email": row.Email, "phone": row.Phone,
		"birth_date": row.BirthDate, "production_unit_id": row.ProductionUnitID, "se_number_id": row.SeNumberID,
		"anonymous": row.Anonymous, "extra_fields": row.ExtraFields, "version": gorm.Expr("version + 1"),
	}
	if row.CprHmac != nil {
		fields["cpr_hmac"], fields["cpr_ciphertext"] = row.CprHmac, row.CprCiphertext
	}
	return s.db.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&userRow{}).
			Where("org_id = ? AND id = ? AND version = ? AND status <> ?", u.OrgID, u.ID, u.Version, domain.UserDeleted).
			Updates(fields)
		if res.Error != nil {
			return pgError("update user", res.Error)
		}
		if res.RowsAffected == 0 {
			return s.staleOrMissing(tx, u.OrgID, u.ID)
		}
		u.Version++
		return nil
	})
}

// SetUserStatus implements domain.UserService.
func (s *UserService) SetUserStatus(ctx context.Context, orgID, id uuid.UUID, version int, status string) error {
	return s.db.tx(ctx, func(tx *gorm.DB) error {
		_, err := s.setStatusTx(tx, orgID, id, version, status)
		return err
	})
}

// setStatusTx changes a user's status inside tx and returns the old one.
func (s *UserService) setStatusTx(tx *gorm.DB, orgID, id uuid.UUID, version int, status string) (string, error) {
	var old string
	err := func() error {
		var row userRow
		if err := tx.Clauses(forUpdate).Take(&row, "org_id = ? AND id = ?", orgID, id).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return errUserNotFound
			}
			return pgError("set user status", err)
		}
		if row.Version != version {
			return errStale
		}
		if !domain.CanTransition(row.Status, status) {
			return &domain.Error{Code: domain.EINVALID, Field: "status", Key: "user.transition",
				Message: "A " + row.Status + " user cannot become " + status + "."}
		}
		now := s.db.Now()
		if row.Status == domain.UserActive {
			// Leaving active: never the last organisation administrator. The
			// remaining ones stay locked until commit, so two administrators
			// deactivating each other at once cannot both succeed.
			if err := refuseLastOrgAdmin(tx, orgID, now, func(r *adminRoleRow) bool { return r.UserID == id }); err != nil {
				return err
			}
		}
		fields := map[string]any{"status": status, "version": gorm.Expr("version + 1")}
		switch status {
		case domain.UserActive:
			if row.ActivatedAt == nil {
				fields["activated_at"] = now
			}
			fields["deactivated_at"] = nil
		case domain.UserDeactivated:
			fields["deactivated_at"] = now
		case domain.UserDeleted:
			// Deleting erases the personal data; the UUID stays, never reused.
			fields["deleted_at"] = now
			fields["first_name"], fields["last_name"], fields["email"], fields["phone"] = "", "", "", nil
			fields["cpr_hmac"], fields["cpr_ciphertext"], fields["extra_fields"] = nil, nil, jsonb("{}")
			fields["birth_date"] = nil
			// The link to the person and any open activation go with the data,
			// so the same person can be hired again later.
			if err := tx.Where("user_id = ?", id).Delete(&personLinkRow{}).Error; err != nil {
				return pgError("delete user's person link", err)
			}
			if err := tx.Exec("DELETE FROM activation_tokens WHERE user_id = ?", id).Error; err != nil {
				return pgError("delete user's activation tokens", err)
			}
		}
		if err := tx.Model(&userRow{}).Where("id = ?", id).Updates(fields).Error; err != nil {
			return pgError("set user status", err)
		}
		old = row.Status
		return nil
	}()
	return old, err
}

// MatchCPR implements domain.UserService by comparing keyed hashes.
func (s *UserService) MatchCPR(ctx context.Context, orgID, id uuid.UUID, cpr string) (bool, error) {
	if _, err := domain.CPRBirthDate("cpr", cpr); err != nil {
		return false, err
	}
	if s.db.pii == nil {
		return false, errors.New("match cpr: no data key configured")
	}
	var row userRow
	err := s.db.gorm.WithContext(ctx).Select("cpr_hmac").Take(&row, "org_id = ? AND id = ?", orgID, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return false, errUserNotFound
	}
	if err != nil {
		return false, pgError("match cpr", err)
	}
	return len(row.CprHmac) == 32 && subtle.ConstantTimeCompare(row.CprHmac, s.db.pii.Hash(cpr)) == 1, nil
}

type personLinkRow struct {
	ID            uuid.UUID `gorm:"type:uuid;default:gen_random_uuid()"`
	OrgID         uuid.UUID
	UserID        uuid.UUID
	BrokerIssuer  string
	BrokerSubject string
	CreatedAt     time.Time `gorm:"default:now()"`
	UpdatedAt     time.Time `gorm:"default:now()"`
}

func (personLinkRow) TableName() string { return "person_links" }

// LinkPerson implements domain.UserService.
func (s *UserService) LinkPerson(ctx context.Context, l *domain.PersonLink) error {
	if strings.TrimSpace(l.BrokerIssuer) == "" || strings.TrimSpace(l.BrokerSubject) == "" {
		return domain.Invalid("subject", "link.subject", "A person link needs the broker's issuer and subject.")
	}
	row := &personLinkRow{ID: l.ID, OrgID: l.OrgID, UserID: l.UserID, BrokerIssuer: l.BrokerIssuer, BrokerSubject: l.BrokerSubject}
	if err := s.db.gorm.WithContext(ctx).Create(row).Error; err != nil {
		return pgError("link person", err)
	}
	l.ID, l.CreatedAt = row.ID, row.CreatedAt
	return nil
}

// FindIdentitiesOfPerson implements domain.UserService.
func (s *UserService) FindIdentitiesOfPerson(ctx context.Context, issuer, subject string) ([]*domain.User, error) {
	var rows []userRow
	err := s.db.gorm.WithContext(ctx).
		Joins("JOIN person_links pl ON pl.user_id = users.id").
		Where("pl.broker_issuer = ? AND pl.broker_subject = ? AND users.status <> ?", issuer, subject, domain.UserDeleted).
		Order("users.org_id").Find(&rows).Error
	if err != nil {
		return nil, pgError("find identities", err)
	}
	return mapRows(rows, (*userRow).toDomain), nil
}

// ErrStale is the conflict of an edit made on data someone else has changed.
var ErrStale = errStale

var errStale = &domain.Error{Code: domain.ECONFLICT, Key: "stale", Message: "Someone else changed this in the meantime; reload and try again."}

func (s *UserService) staleOrMissing(tx *gorm.DB, orgID, id uuid.UUID) error {
	var n int64
	if err := tx.Model(&userRow{}).Where("org_id = ? AND id = ? AND status <> ?", orgID, id, domain.UserDeleted).Count(&n).Error; err != nil {
		return pgError("update user", err)
	}
	if n == 0 {
		return errUserNotFound
	}
	return errStale
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// CountUsersByStatus counts the organisation's users per status (deleted
// ones included), for the dashboard.
func (s *UserService) CountUsersByStatus(ctx context.Context, orgID uuid.UUID) (map[string]int, error) {
	var rows []struct {
		Status string
		N      int
	}
	if err := s.db.gorm.WithContext(ctx).Model(&userRow{}).Select("status, count(*) AS n").Where("org_id = ?", orgID).
		Group("status").Scan(&rows).Error; err != nil {
		return nil, pgError("count users", err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}
