package postgres_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

func TestPageGroupsWalksEveryGroupOnceByName(t *testing.T) {
	t.Parallel()
	a := newFixture(t, "12345674", "1000000001")
	b := fixtureOn(t, a.db, "91234564", "1012345671")
	ctx := context.Background()
	groups := postgres.NewGroupService(a.db)
	names := []string{"delta", "Alpha", "charlie", "Bravo", "echo", "foxtrot", "Golf"}
	for _, n := range names {
		if err := groups.CreateGroup(ctx, &domain.Group{OrgID: a.org.ID, Name: n}); err != nil {
			t.Fatalf("CreateGroup(%s): %v", n, err)
		}
	}
	for _, n := range []string{"Aardvark", "other"} {
		if err := groups.CreateGroup(ctx, &domain.Group{OrgID: b.org.ID, Name: n}); err != nil {
			t.Fatalf("CreateGroup(%s): %v", n, err)
		}
	}

	var got []string
	f := postgres.GroupFilter{OrgID: a.org.ID, Limit: 3}
	for page := 0; ; page++ {
		if page > len(names) {
			t.Fatalf("more pages than groups: %v", got)
		}
		gs, more, err := groups.PageGroups(ctx, f)
		if err != nil {
			t.Fatalf("PageGroups: %v", err)
		}
		for _, g := range gs {
			got = append(got, g.Name)
		}
		if !more {
			break
		}
		last := gs[len(gs)-1]
		f.After = &postgres.GroupCursor{Name: last.Name, ID: last.ID}
	}
	want := []string{"Alpha", "Bravo", "charlie", "delta", "echo", "foxtrot", "Golf"}
	if !slices.Equal(got, want) {
		t.Errorf("pages: got %v, want %v", got, want)
	}

	gs, more, err := groups.PageGroups(ctx, postgres.GroupFilter{OrgID: a.org.ID, Query: "O"})
	if err != nil {
		t.Fatalf("PageGroups(q): %v", err)
	}
	got = got[:0]
	for _, g := range gs {
		got = append(got, g.Name)
	}
	if want := []string{"Bravo", "echo", "foxtrot", "Golf"}; !slices.Equal(got, want) || more {
		t.Errorf("q=O: got %v (more %v), want %v", got, more, want)
	}
}

func TestPageGroupMembersAndFindGroupMembership(t *testing.T) {
	t.Parallel()
	a := newFixture(t, "12345674", "1000000001")
	b := fixtureOn(t, a.db, "91234564", "1012345671")
	ctx := context.Background()
	groups := postgres.NewGroupService(a.db)
	g := &domain.Group{OrgID: a.org.ID, Name: "Løn"}
	if err := groups.CreateGroup(ctx, g); err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	add := func(u *domain.User) {
		t.Helper()
		if err := groups.AddGroupMember(ctx, &domain.GroupMember{OrgID: a.org.ID, GroupID: g.ID, UserID: u.ID, MemberOrgID: u.OrgID}); err != nil {
			t.Fatalf("AddGroupMember(%s): %v", u.FirstName, err)
		}
	}
	want := map[uuid.UUID]bool{}
	for _, n := range []string{"Anna", "Bo", "Carl", "Dorte", "Erik"} {
		u := a.user(t, n, "")
		add(u)
		want[u.ID] = true
	}
	anon := &domain.User{OrgID: b.org.ID, FirstName: "Skjult", LastName: "Person", Email: "skjult@example.dk", Anonymous: true,
		Status: domain.UserActive, BirthDate: a.user(t, "Tmp", "").BirthDate}
	if err := b.users.CreateUser(ctx, anon); err != nil {
		t.Fatalf("CreateUser(anonymous): %v", err)
	}
	add(anon)
	want[anon.ID] = true
	gone := a.user(t, "Gone", "")
	add(gone)
	if err := a.users.SetUserStatus(ctx, a.org.ID, gone.ID, gone.Version, domain.UserDeleted); err != nil {
		t.Fatalf("delete user: %v", err)
	}

	var got []*postgres.GroupMembership
	f := postgres.MemberFilter{OrgID: a.org.ID, GroupID: g.ID, Limit: 2}
	for page := 0; ; page++ {
		if page > len(want) {
			t.Fatalf("more pages than members")
		}
		ms, more, err := groups.PageGroupMembers(ctx, f)
		if err != nil {
			t.Fatalf("PageGroupMembers: %v", err)
		}
		got = append(got, ms...)
		if !more {
			break
		}
		last := ms[len(ms)-1]
		f.After = &postgres.MemberCursor{AddedAt: last.AddedAt, UserID: last.UserID}
	}
	seen := map[uuid.UUID]bool{}
	for i, m := range got {
		if seen[m.UserID] {
			t.Errorf("member %s listed twice", m.UserID)
		}
		seen[m.UserID] = true
		if i > 0 && m.AddedAt.Before(got[i-1].AddedAt) {
			t.Errorf("member %d added at %v, before the previous one (%v)", i, m.AddedAt, got[i-1].AddedAt)
		}
		if m.UserID == anon.ID {
			if !m.External || !m.Anonymous || m.Name != "" || m.Email != "" || m.OrgCVR != b.org.CVR {
				t.Errorf("anonymous external member: got %+v, want external, anonymous, no name or email, CVR %s", m, b.org.CVR)
			}
		} else if m.External || m.Name == "" || !strings.HasSuffix(m.Email, "@example.dk") {
			t.Errorf("own member: got %+v, want internal with name and email", m)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("members: got %d, want %d (the deleted user left out)", len(seen), len(want))
	}
	for id := range want {
		if !seen[id] {
			t.Errorf("member %s missing", id)
		}
	}

	if ms, _, err := groups.PageGroupMembers(ctx, postgres.MemberFilter{OrgID: b.org.ID, GroupID: g.ID}); err != nil || len(ms) != 0 {
		t.Errorf("another organisation's group: got %d members (%v), want none", len(ms), err)
	}

	var someone uuid.UUID
	for id := range want {
		someone = id
		break
	}
	m, err := groups.FindGroupMembership(ctx, a.org.ID, g.ID, someone)
	if err != nil || m.UserID != someone || m.GroupID != g.ID || m.ID == uuid.Nil {
		t.Errorf("FindGroupMembership: got %+v, %v; want the membership of %s", m, err, someone)
	}
	outsider := a.user(t, "Outsider", "")
	for name, c := range map[string]struct{ org, user uuid.UUID }{
		"not a member":         {a.org.ID, outsider.ID},
		"deleted member":       {a.org.ID, gone.ID},
		"another organisation": {b.org.ID, someone},
	} {
		_, err := groups.FindGroupMembership(ctx, c.org, g.ID, c.user)
		wantCode(t, "FindGroupMembership, "+name, err, domain.ENOTFOUND)
	}
}

func TestAPIClientActorIsStoredAsNoGranter(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "12345674", "1000000001")
	other := fixtureOn(t, f.db, "91234564", "1012345671")
	ctx := context.Background()
	n := &recordingNotifier{}
	ob := postgres.NewOnboarding(f.db, n, func(s string) string { return "https://erhverv.test/activate?token=" + s })
	admin := postgres.NewAdministration(f.db, ob, "https://erhverv.test/portal")
	client := postgres.Actor{UserID: uuid.New(), Label: "API client Løn", RequestID: "req-1", Client: true}
	u := f.user(t, "Rolf", "")

	r := &domain.AdminRole{OrgID: f.org.ID, UserID: u.ID, Role: domain.RoleUserAdmin}
	if err := admin.AssignRole(ctx, client, r, "da"); err != nil {
		t.Fatalf("AssignRole: %v", err)
	}
	if r.ID == uuid.Nil || r.GrantedBy != nil {
		t.Errorf("role: got id %v, granted by %v; want stored without a granter", r.ID, r.GrantedBy)
	}
	if len(n.sent) != 1 || n.sent[0].Template != "admin_role_assigned" || n.sent[0].To != u.Email {
		t.Errorf("mails: got %+v, want the role mail to %s", n.sent, u.Email)
	}
	// A user of the organisation as the actor is recorded as the granter.
	boss := f.user(t, "Bodil", "")
	r2 := &domain.AdminRole{OrgID: f.org.ID, UserID: u.ID, Role: domain.RoleRightsAdmin}
	if err := admin.AssignRole(ctx, postgres.Actor{UserID: boss.ID, Label: "Bodil"}, r2, "da"); err != nil {
		t.Fatal(err)
	}
	if r2.GrantedBy == nil || *r2.GrantedBy != boss.ID {
		t.Errorf("granted by: got %v, want %v", r2.GrantedBy, boss.ID)
	}
	err := admin.AssignRole(ctx, client, &domain.AdminRole{OrgID: f.org.ID, UserID: u.ID, Role: domain.RoleUserAdmin}, "da")
	wantCode(t, "AssignRole(again)", err, domain.ECONFLICT)
	err = admin.AssignRole(ctx, client, &domain.AdminRole{OrgID: f.org.ID, UserID: other.user(t, "Ude", "").ID, Role: domain.RoleUserAdmin}, "da")
	wantCode(t, "AssignRole(another organisation's user)", err, domain.ENOTFOUND)

	g := &domain.Group{OrgID: f.org.ID, Name: "Løn"}
	if err := admin.CreateGroup(ctx, client, g); err != nil {
		t.Fatal(err)
	}
	if err := admin.AddGroupMember(ctx, client, f.org.ID, g.ID, u); err != nil {
		t.Fatalf("AddGroupMember: %v", err)
	}
	members, err := postgres.NewGroupService(f.db).ListGroupMembers(ctx, f.org.ID, g.ID)
	if err != nil || len(members) != 1 || members[0].UserID != u.ID || members[0].AddedBy != nil {
		t.Errorf("members: got %+v (%v), want %s added by no user", members, err, u.ID)
	}
	wantCode(t, "AddGroupMember(again)", admin.AddGroupMember(ctx, client, f.org.ID, g.ID, u), domain.ECONFLICT)
	outsider := other.user(t, "Udenfor", "")
	wantCode(t, "AddGroupMember(another organisation's group)",
		admin.AddGroupMember(ctx, client, other.org.ID, g.ID, outsider), domain.ENOTFOUND)

	var events int
	if err := f.db.SQL().QueryRow(`SELECT count(*) FROM audit_events WHERE org_id = $1 AND actor_id = $2 AND request_id = 'req-1'
		AND action IN ('admin_role.assigned', 'group.member_added')`, f.org.ID, client.UserID).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if events != 2 {
		t.Errorf("audit events of the client: got %d, want 2 (one role, one member)", events)
	}
}
