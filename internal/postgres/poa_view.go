package postgres

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
)

// PoAParty is one side of a power of attorney.
type PoAParty struct {
	ID   uuid.UUID
	CVR  string
	Name string
}

// PoAPrivilegeView is a privilege a power of attorney carries.
type PoAPrivilegeView struct {
	Privilege        *domain.Privilege
	ConstraintValues map[string]string
}

// PoAView is a power of attorney as the portal shows it: its parties by
// name, the named person, its privileges and the people who acted on it.
type PoAView struct {
	*domain.PowerOfAttorney
	Grantor, Grantee PoAParty
	PersonName       string // the named person of the grantee, if any
	PersonEmail      string
	Privileges       []PoAPrivilegeView
	// People are the names of those who requested, granted, accepted,
	// rejected or ended it, by id.
	People   map[uuid.UUID]string
	PassedOn int // assignments the grantee passed on from it
}

// FindPoA returns a power of attorney orgID is a party to; any other is
// ENOTFOUND, exactly as one that does not exist.
func (s *PoAService) FindPoA(ctx context.Context, orgID, id uuid.UUID) (*PoAView, error) {
	var row poaRow
	if err := s.db.gorm.WithContext(ctx).Take(&row, "id = ? AND (org_id = ? OR grantee_org_id = ?)", id, orgID, orgID).Error; err != nil {
		return nil, notFoundOr(err, errPoANotFound, "find power of attorney")
	}
	views, err := s.views(ctx, []poaRow{row})
	if err != nil {
		return nil, err
	}
	return views[0], nil
}

// ListPoAs lists the powers of attorney orgID has given or received (or
// asked for, or been asked for), newest first.
func (s *PoAService) ListPoAs(ctx context.Context, orgID uuid.UUID) ([]*PoAView, error) {
	var rows []poaRow
	if err := s.db.gorm.WithContext(ctx).Where("org_id = ? OR grantee_org_id = ?", orgID, orgID).
		Order("created_at DESC, id").Limit(500).Find(&rows).Error; err != nil {
		return nil, pgError("list powers of attorney", err)
	}
	return s.views(ctx, rows)
}

// views adds the parties, privileges, people and counts to rows.
func (s *PoAService) views(ctx context.Context, rows []poaRow) ([]*PoAView, error) {
	db := s.db.gorm.WithContext(ctx)
	ids := make([]uuid.UUID, len(rows))
	orgIDs, userIDs := map[uuid.UUID]bool{}, map[uuid.UUID]bool{}
	for i, r := range rows {
		ids[i] = r.ID
		orgIDs[r.OrgID], orgIDs[r.GranteeOrgID] = true, true
		for _, u := range []*uuid.UUID{r.GranteeUserID, r.RequestedBy, r.GrantedBy, r.AcceptedBy, r.EndedBy, r.DecidedBy} {
			if u != nil {
				userIDs[*u] = true
			}
		}
	}
	if len(rows) == 0 {
		return nil, nil
	}
	var orgs []organisationRow
	if err := db.Where("id IN ?", slices.Collect(maps.Keys(orgIDs))).Find(&orgs).Error; err != nil {
		return nil, pgError("find parties", err)
	}
	party := map[uuid.UUID]PoAParty{}
	for _, o := range orgs {
		party[o.ID] = PoAParty{ID: o.ID, CVR: o.CVR, Name: o.Name}
	}
	users := map[uuid.UUID]userRow{}
	if len(userIDs) > 0 {
		var us []userRow
		if err := db.Where("id IN ?", slices.Collect(maps.Keys(userIDs))).Find(&us).Error; err != nil {
			return nil, pgError("find people", err)
		}
		for _, u := range us {
			users[u.ID] = u
		}
	}
	privs := map[uuid.UUID][]PoAPrivilegeView{}
	passed := map[uuid.UUID]int{}
	if len(ids) > 0 {
		var pps []poaPrivilegeRow
		if err := db.Where("poa_id IN ?", ids).Find(&pps).Error; err != nil {
			return nil, pgError("find privileges of powers of attorney", err)
		}
		pids := make([]uuid.UUID, len(pps))
		for i, pp := range pps {
			pids[i] = pp.PrivilegeID
		}
		var prs []privilegeRow
		if len(pids) > 0 {
			if err := db.Where("id IN ?", pids).Find(&prs).Error; err != nil {
				return nil, pgError("find privileges", err)
			}
		}
		byID := map[uuid.UUID]*domain.Privilege{}
		for i := range prs {
			byID[prs[i].ID] = prs[i].toDomain()
		}
		for _, pp := range pps {
			if p := byID[pp.PrivilegeID]; p != nil {
				privs[pp.PoaID] = append(privs[pp.PoaID], PoAPrivilegeView{Privilege: p, ConstraintValues: pp.values()})
			}
		}
		var counts []struct {
			ViaPoaID uuid.UUID
			N        int
		}
		if err := db.Model(&assignmentRow{}).Select("via_poa_id, count(*) AS n").Where("via_poa_id IN ?", ids).
			Group("via_poa_id").Scan(&counts).Error; err != nil {
			return nil, pgError("count passed-on assignments", err)
		}
		for _, c := range counts {
			passed[c.ViaPoaID] = c.N
		}
	}
	out := make([]*PoAView, len(rows))
	for i := range rows {
		r := &rows[i]
		v := &PoAView{PowerOfAttorney: r.toDomain(), Grantor: party[r.OrgID], Grantee: party[r.GranteeOrgID],
			Privileges: privs[r.ID], People: map[uuid.UUID]string{}, PassedOn: passed[r.ID]}
		slices.SortFunc(v.Privileges, func(a, b PoAPrivilegeView) int { return strings.Compare(a.Privilege.URI, b.Privilege.URI) })
		for _, p := range v.Privileges {
			v.PowerOfAttorney.Privileges = append(v.PowerOfAttorney.Privileges, domain.PoAPrivilege{PrivilegeID: p.Privilege.ID, ConstraintValues: p.ConstraintValues})
		}
		for _, id := range []*uuid.UUID{r.RequestedBy, r.GrantedBy, r.AcceptedBy, r.EndedBy, r.DecidedBy} {
			if id != nil {
				if u, ok := users[*id]; ok {
					v.People[*id] = fullName(&u)
				}
			}
		}
		if r.GranteeUserID != nil {
			if u, ok := users[*r.GranteeUserID]; ok {
				v.PersonName, v.PersonEmail = fullName(&u), u.Email
			}
		}
		out[i] = v
	}
	return out, nil
}

// PassedOnView is an assignment the grantee passed on from a power of
// attorney, with the user's name.
type PassedOnView struct {
	Assignment *domain.Assignment
	UserName   string
}

// ListPassedOn lists what the grantee passed on from the power of
// attorney. The grantor sees none of it (ENOTFOUND for anyone else).
func (s *PoAService) ListPassedOn(ctx context.Context, orgID, id uuid.UUID) ([]PassedOnView, error) {
	db := s.db.gorm.WithContext(ctx)
	var n int64
	if err := db.Model(&poaRow{}).Where("id = ? AND grantee_org_id = ?", id, orgID).Count(&n).Error; err != nil {
		return nil, pgError("find power of attorney", err)
	}
	if n == 0 {
		return nil, errPoANotFound
	}
	var rows []assignmentRow
	if err := db.Where("org_id = ? AND via_poa_id = ?", orgID, id).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, pgError("list passed-on assignments", err)
	}
	names := map[uuid.UUID]string{}
	var uids []uuid.UUID
	for _, r := range rows {
		if r.UserID != nil {
			uids = append(uids, *r.UserID)
		}
	}
	if len(uids) > 0 {
		var us []userRow
		if err := db.Where("org_id = ? AND id IN ?", orgID, uids).Find(&us).Error; err != nil {
			return nil, pgError("find users", err)
		}
		for _, u := range us {
			names[u.ID] = fullName(&u)
		}
	}
	out := make([]PassedOnView, len(rows))
	for i := range rows {
		a := rows[i].toDomain()
		out[i] = PassedOnView{Assignment: a}
		if a.UserID != nil {
			out[i].UserName = names[*a.UserID]
		}
	}
	return out, nil
}
