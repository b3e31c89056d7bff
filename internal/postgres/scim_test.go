package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

type scimFixture struct {
	*fixture
	admin *postgres.Administration
	scim  *postgres.SCIM
	actor postgres.Actor
}

func newSCIMFixture(t *testing.T) *scimFixture {
	t.Helper()
	f := newFixture(t, "30264878", "1045678901")
	ob := postgres.NewOnboarding(f.db, &recordingNotifier{}, func(s string) string { return "https://erhverv.test/activate?token=" + s })
	admin := postgres.NewAdministration(f.db, ob, "https://erhverv.test/portal")
	return &scimFixture{fixture: f, admin: admin, scim: postgres.NewSCIM(f.db, admin),
		actor: postgres.Actor{UserID: uuid.New(), Label: "API client Entra ID"}}
}

func (f *scimFixture) scimUser(t *testing.T, first, last, email, externalID string) *postgres.SCIMUser {
	t.Helper()
	u := &postgres.SCIMUser{ExternalID: externalID, User: domain.User{OrgID: f.org.ID, FirstName: first, LastName: last, Email: email,
		BirthDate: time.Date(1980, 2, 3, 0, 0, 0, 0, time.UTC)}}
	if err := f.scim.CreateUser(context.Background(), f.actor, u, "da"); err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

func TestSCIMFindUsersFilter(t *testing.T) {
	t.Parallel()
	f := newSCIMFixture(t)
	ctx := context.Background()
	f.scimUser(t, "Seán", "O'Brien", "sean@example.dk", "")
	f.scimUser(t, "Ulla", "Ravn", "ulla.100%@example.dk", "u-1")
	f.scimUser(t, "Bo", "Ravn", "bo@example.dk", "b-1")
	cmp := func(op, field string, v any) *postgres.SCIMFilter {
		return &postgres.SCIMFilter{Op: op, Field: field, Value: v}
	}
	tests := []struct {
		name   string
		filter *postgres.SCIMFilter
		want   []string
	}{
		{"all", nil, []string{"sean@example.dk", "bo@example.dk", "ulla.100%@example.dk"}},
		{"a quote in the value", cmp("eq", postgres.SCIMFieldLastName, "o'brien"), []string{"sean@example.dk"}},
		{"% is no wildcard", cmp("co", postgres.SCIMFieldEmail, "0%@"), []string{"ulla.100%@example.dk"}},
		{"% is no wildcard either", cmp("sw", postgres.SCIMFieldEmail, "%"), nil},
		{"ne includes a missing value", cmp("ne", postgres.SCIMFieldExternalID, "u-1"), []string{"sean@example.dk", "bo@example.dk"}},
		{"not of a missing value", &postgres.SCIMFilter{Op: "not", Sub: []*postgres.SCIMFilter{cmp("eq", postgres.SCIMFieldExternalID, "u-1")}},
			[]string{"sean@example.dk", "bo@example.dk"}},
		{"gt on text", cmp("gt", postgres.SCIMFieldFirstName, "c"), []string{"sean@example.dk", "ulla.100%@example.dk"}},
		{"full name", cmp("co", postgres.SCIMFieldFullName, "bo ravn"), []string{"bo@example.dk"}},
		{"or of and", &postgres.SCIMFilter{Op: "or", Sub: []*postgres.SCIMFilter{
			{Op: "and", Sub: []*postgres.SCIMFilter{cmp("eq", postgres.SCIMFieldLastName, "Ravn"), cmp("sw", postgres.SCIMFieldFirstName, "U")}},
			cmp("pr", postgres.SCIMFieldPhone, nil)}}, []string{"ulla.100%@example.dk"}},
		{"status", cmp("eq", postgres.SCIMFieldStatus, domain.UserPending), []string{"sean@example.dk", "bo@example.dk", "ulla.100%@example.dk"}},
		{"unknown id", cmp("eq", postgres.SCIMFieldID, uuid.Nil), nil},
		{"constant", &postgres.SCIMFilter{Op: "false"}, nil},
	}
	for _, tc := range tests {
		users, total, err := f.scim.FindUsers(ctx, postgres.SCIMQuery{OrgID: f.org.ID, Filter: tc.filter, Limit: 10})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var got []string
		for _, u := range users {
			got = append(got, u.Email)
		}
		if !slices.Equal(got, tc.want) || total != len(tc.want) {
			t.Errorf("%s: got %v (total %d), want %v", tc.name, got, total, tc.want)
		}
	}
	if _, _, err := f.scim.FindUsers(ctx, postgres.SCIMQuery{OrgID: f.org.ID, Filter: cmp("eq", postgres.SCIMFieldGroupName, "x"), Limit: 1}); err == nil {
		t.Errorf("a group field in a user filter: got no error")
	}
	if _, _, err := f.scim.FindUsers(ctx, postgres.SCIMQuery{OrgID: f.org.ID, Filter: cmp("co", postgres.SCIMFieldID, "t"), Limit: 1}); err == nil {
		t.Errorf("co on id: got no error")
	}
	users, total, err := f.scim.FindUsers(ctx, postgres.SCIMQuery{OrgID: f.org.ID, Offset: 1, Limit: 0})
	if err != nil || len(users) != 0 || total != 3 {
		t.Errorf("count only: got %d users, total %d, %v; want none of 3", len(users), total, err)
	}
}

func TestSCIMExternalIDs(t *testing.T) {
	t.Parallel()
	f := newSCIMFixture(t)
	ctx := context.Background()
	u := f.scimUser(t, "Anna", "Berg", "anna@example.dk", "ext-1")
	if u.Version != 1 || u.Status != domain.UserPending || u.ExternalID != "ext-1" {
		t.Fatalf("created: got %+v", u)
	}
	dup := &postgres.SCIMUser{ExternalID: "ext-1", User: domain.User{OrgID: f.org.ID, FirstName: "B", LastName: "C", Email: "b@example.dk",
		BirthDate: time.Date(1980, 2, 3, 0, 0, 0, 0, time.UTC)}}
	if err := f.scim.CreateUser(ctx, f.actor, dup, "da"); domain.ErrorKey(err) != "scim.external_id_taken" {
		t.Errorf("second user with the external id: got %v, want scim.external_id_taken", err)
	}
	if _, err := f.scim.SetUserExternalID(ctx, f.actor, f.org.ID, u.ID, 7, "ext-2"); err != postgres.ErrStale {
		t.Errorf("stale version: got %v, want ErrStale", err)
	}
	v, err := f.scim.SetUserExternalID(ctx, f.actor, f.org.ID, u.ID, 1, "ext-2")
	if err != nil || v != 2 {
		t.Fatalf("SetUserExternalID: got version %d, %v; want 2", v, err)
	}
	if v, err := f.scim.SetUserExternalID(ctx, f.actor, f.org.ID, u.ID, 2, "ext-2"); err != nil || v != 2 {
		t.Errorf("the same external id again: got version %d, %v; want 2, no change", v, err)
	}
	// Deleting, through any service, erases the external id.
	if err := f.admin.SetStatus(ctx, f.actor, f.org.ID, u.ID, 2, domain.UserDeleted); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := f.db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM users WHERE external_id IS NOT NULL").Scan(&n); err != nil || n != 0 {
		t.Errorf("external ids left after deletion: got %d, %v; want 0", n, err)
	}
	if _, err := f.scim.FindUser(ctx, f.org.ID, u.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("FindUser of a deleted user: got %v, want not found", err)
	}
	f.scimUser(t, "Anna", "Berg", "anna@example.dk", "ext-2")
	var events []string
	all, _, err := postgres.NewAuditLog(f.db).ListAuditEvents(ctx, postgres.AuditFilter{OrgID: f.org.ID, Target: u.ID.String()})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		events = append(events, e.Action)
	}
	if want := []string{"user.deleted", "user.updated", "activation.issued", "user.created"}; !slices.Equal(events, want) {
		t.Errorf("audit: got %v, want %v", events, want)
	}
}

func TestSCIMGroups(t *testing.T) {
	t.Parallel()
	f := newSCIMFixture(t)
	ctx := context.Background()
	anna := f.scimUser(t, "Anna", "Berg", "anna@example.dk", "")
	bo := f.scimUser(t, "Bo", "Dahl", "bo@example.dk", "")
	g := &postgres.SCIMGroup{ExternalID: "g-1", Group: domain.Group{OrgID: f.org.ID, Name: " Salg "},
		Members: []postgres.SCIMMember{{UserID: anna.ID}, {UserID: anna.ID}}}
	if err := f.scim.CreateGroup(ctx, f.actor, g); err != nil {
		t.Fatal(err)
	}
	// A member from another organisation, added in the portal.
	other := fixtureOn(t, f.db, "91234564", "1012345671")
	guest := other.user(t, "Gæst", "")
	if err := postgres.NewGroupService(f.db).AddGroupMember(ctx, &domain.GroupMember{OrgID: f.org.ID, GroupID: g.ID, UserID: guest.ID, MemberOrgID: other.org.ID}); err != nil {
		t.Fatal(err)
	}

	unknown := uuid.New()
	name := "Salg og marketing"
	err := f.scim.UpdateGroup(ctx, f.actor, f.org.ID, g.ID, postgres.SCIMGroupChange{Name: &name, Add: []uuid.UUID{bo.ID, unknown}})
	if domain.ErrorCode(err) != domain.EINVALID {
		t.Fatalf("adding an unknown member: got %v, want invalid", err)
	}
	got, err := f.scim.FindGroup(ctx, f.org.ID, g.ID, true)
	if err != nil || got.Name != "Salg" || got.ExternalID != "g-1" || len(got.Members) != 1 || got.Members[0].UserID != anna.ID || got.Members[0].Display != "Anna Berg" {
		t.Fatalf("after the refused change: got %+v, %v; want Salg with Anna only", got, err)
	}

	if err := f.scim.UpdateGroup(ctx, f.actor, f.org.ID, g.ID, postgres.SCIMGroupChange{SetMembers: true, Add: []uuid.UUID{bo.ID}}); err != nil {
		t.Fatal(err)
	}
	groups, total, err := f.scim.FindGroups(ctx, postgres.SCIMQuery{OrgID: f.org.ID, Limit: 10,
		Filter: &postgres.SCIMFilter{Op: "eq", Field: postgres.SCIMFieldMember, Value: bo.ID}}, true)
	if err != nil || total != 1 || len(groups[0].Members) != 1 || groups[0].Members[0].UserID != bo.ID {
		t.Fatalf("groups with Bo: got %+v (%d), %v", groups, total, err)
	}
	members, err := postgres.NewGroupService(f.db).ListGroupMembers(ctx, f.org.ID, g.ID)
	if err != nil || len(members) != 2 || !slices.ContainsFunc(members, func(m *domain.GroupMember) bool { return m.UserID == guest.ID }) {
		t.Errorf("after replacing the members: got %d members, %v; want Bo and the other organisation's guest", len(members), err)
	}
	if _, total, err := f.scim.FindGroups(ctx, postgres.SCIMQuery{OrgID: other.org.ID, Limit: 10,
		Filter: &postgres.SCIMFilter{Op: "eq", Field: postgres.SCIMFieldID, Value: g.ID}}, false); err != nil || total != 0 {
		t.Errorf("another organisation's search for the group: got %d, %v; want none", total, err)
	}
	if _, err := f.scim.FindGroup(ctx, other.org.ID, g.ID, false); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("another organisation's group: got %v, want not found", err)
	}
}
