package postgres_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

// Deleting a group removes its privileges in the same transaction, each
// audited as any removal of an assignment, and group.deleted counts them.
func TestDeletingAGroupAuditsTheRemovalOfItsPrivileges(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	ctx := context.Background()
	org := f.customer.org
	laes := f.publish(t, "urn:dk:test:a:laes", nil)
	skriv := f.publish(t, "urn:dk:test:b:skriv", nil)
	admin := postgres.NewAdministration(f.db, nil, "https://erhverv.test/portal")
	actor := postgres.Actor{UserID: f.customer.user(t, "mette", "").ID, Label: "Mette Jensen", RequestID: "req-2"}
	g := &domain.Group{OrgID: org.ID, Name: "Sagsbehandlere"}
	kept := &domain.Group{OrgID: org.ID, Name: "Andre"}
	for _, x := range []*domain.Group{g, kept} {
		if err := admin.CreateGroup(ctx, actor, x); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []postgres.NewAssignments{
		{PrivilegeID: laes.ID, GroupID: &g.ID, Scope: cvrScope(org)},
		{PrivilegeID: skriv.ID, GroupID: &g.ID, Scope: domain.Scope{Kind: domain.ScopeP, Value: f.other.PNumber}},
		{PrivilegeID: laes.ID, GroupID: &kept.ID, Scope: cvrScope(org)},
	} {
		n.OrgID = org.ID
		if _, err := f.rights.CreateAssignments(ctx, f.actor, n); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	rows, err := f.db.SQL().Query("SELECT id FROM privilege_assignments WHERE group_id = $1 ORDER BY id", g.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) != 2 {
		t.Fatalf("the group's assignments: %v", ids)
	}

	if err := admin.DeleteGroup(ctx, actor, org.ID, g.ID); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}
	if n := f.assignments(t); n != 1 {
		t.Errorf("assignments after deleting the group: %d, want the other group's 1", n)
	}
	if n := f.audits(t, org, "assignment.removed"); n != 2 {
		t.Fatalf("assignment.removed events: %d, want 2", n)
	}
	for _, id := range ids {
		var actorID, details string
		if err := f.db.SQL().QueryRow("SELECT actor_id::text, details::text FROM audit_events WHERE org_id = $1 AND action = 'assignment.removed' AND target_id = $2",
			org.ID, id).Scan(&actorID, &details); err != nil {
			t.Fatalf("the removal of %s: %v", id, err)
		}
		var d map[string]any
		if err := json.Unmarshal([]byte(details), &d); err != nil {
			t.Fatal(err)
		}
		if actorID != actor.UserID.String() || d["group_id"] != g.ID.String() || d["privilege_uri"] == "" || d["scope"] == "" {
			t.Errorf("the removal of %s: actor %s details %s", id, actorID, details)
		}
	}
	var details string
	if err := f.db.SQL().QueryRow("SELECT details::text FROM audit_events WHERE org_id = $1 AND action = 'group.deleted' AND target_id = $2",
		org.ID, g.ID.String()).Scan(&details); err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal([]byte(details), &d); err != nil || d["assignments"] != float64(2) {
		t.Errorf("group.deleted details %s (%v), want 2 assignments", details, err)
	}
	if v, err := postgres.NewAuditLog(f.db).VerifyAudit(ctx, &org.ID); err != nil || v.BrokenAt != 0 {
		t.Errorf("the organisation's chain: %+v (%v)", v, err)
	}
}
