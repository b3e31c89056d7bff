package postgres_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

func TestOrgOfUserAndPrivilegeProviders(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "12345674", "1000000001")
	ctx := context.Background()
	svc := postgres.NewRightsService(f.db)
	u := f.user(t, "Ane", "")

	got, status, err := svc.OrgOfUser(ctx, u.ID)
	if err != nil || got != f.org.ID || status != domain.UserActive {
		t.Errorf("OrgOfUser: got %v, %q, %v, want %v, active", got, status, err, f.org.ID)
	}
	_, _, err = svc.OrgOfUser(ctx, uuid.New())
	wantCode(t, "OrgOfUser(unknown)", err, domain.ENOTFOUND)

	sys := &domain.ITSystem{OrgID: f.org.ID, Name: "Moms"}
	if err := svc.CreateITSystem(ctx, sys); err != nil {
		t.Fatal(err)
	}
	p := &domain.Privilege{OrgID: f.org.ID, ITSystemID: sys.ID, URI: "urn:dk:test:moms", NameDA: "Moms", NameEN: "VAT", MinLoA: domain.LoASubstantial}
	if err := svc.PublishPrivilege(ctx, p); err != nil {
		t.Fatal(err)
	}
	providers, err := svc.PrivilegeProviders(ctx, []string{"urn:dk:test:moms", "urn:dk:test:unknown"})
	if err != nil {
		t.Fatal(err)
	}
	if len(providers) != 1 || providers["urn:dk:test:moms"] != f.org.ID {
		t.Errorf("PrivilegeProviders: got %v, want only urn:dk:test:moms → %v", providers, f.org.ID)
	}
	if none, err := svc.PrivilegeProviders(ctx, nil); err != nil || len(none) != 0 {
		t.Errorf("PrivilegeProviders(nil): got %v, %v, want an empty map", none, err)
	}

	// An API client assigns: no granting user, the audit event names the client.
	client := postgres.Actor{UserID: uuid.New(), Label: "API client Løn", RequestID: "req-api", Client: true}
	out, err := svc.CreateAssignments(ctx, client, postgres.NewAssignments{OrgID: f.org.ID, PrivilegeID: p.ID,
		UserIDs: []uuid.UUID{u.ID}, Scope: domain.Scope{Kind: domain.ScopeCVR, Value: f.org.CVR}})
	if err != nil {
		t.Fatalf("CreateAssignments: %v", err)
	}
	if len(out) != 1 || out[0].GrantedBy != nil || out[0].UserID == nil || *out[0].UserID != u.ID {
		t.Fatalf("CreateAssignments: got %+v, want one assignment to %v without granted_by", out, u.ID)
	}
	events, _, err := postgres.NewAuditLog(f.db).ListAuditEvents(ctx, postgres.AuditFilter{OrgID: f.org.ID, Action: "assignment."})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].ActorID == nil || *events[0].ActorID != client.UserID || events[0].TargetID != out[0].ID.String() {
		t.Errorf("audit: got %+v, want one assignment.created by the client", events)
	}
	// The same again is a conflict, and nothing more is stored.
	_, err = svc.CreateAssignments(ctx, client, postgres.NewAssignments{OrgID: f.org.ID, PrivilegeID: p.ID,
		UserIDs: []uuid.UUID{u.ID}, Scope: domain.Scope{Kind: domain.ScopeCVR, Value: f.org.CVR}})
	wantCode(t, "CreateAssignments(again)", err, domain.ECONFLICT)
}
