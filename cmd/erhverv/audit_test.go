package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/erhverv/erhverv/internal/dbtest"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

func TestAuditVerifyReportsEveryChainAndFailsOnABreak(t *testing.T) {
	t.Parallel()
	url := dbtest.NewURL(t)
	ctx := context.Background()
	db, err := postgres.Open(ctx, url, nil, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	orgs, log := postgres.NewOrganisationService(db), postgres.NewAuditLog(db)
	nordlys := &domain.Organisation{CVR: "91234564", Name: "Nordlys"}
	havbryg := &domain.Organisation{CVR: "95001238", Name: "Havbryg"}
	for _, o := range []*domain.Organisation{nordlys, havbryg} {
		if err := orgs.CreateOrganisation(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	for i, org := range []*domain.Organisation{nordlys, nordlys, nordlys, havbryg, nil} {
		e := &domain.AuditEvent{Action: "test.event", TargetID: string(rune('a' + i))}
		if org != nil {
			e.OrgID = &org.ID
		}
		if err := log.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) (string, string, int) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		m := &Main{Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string {
			return map[string]string{"DATABASE_URL": url}[k]
		}}
		code := m.exitCode(m.audit(ctx, args))
		return stdout.String(), stderr.String(), code
	}

	out, errOut, code := run("verify")
	if code != 0 {
		t.Fatalf("verify intact chains: got exit %d (%s), want 0", code, errOut)
	}
	t.Logf("audit verify:\n%s", out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := [][]string{{"platform", "1 event", "OK"}, {"91234564 Nordlys", "3 events", "OK"}, {"95001238 Havbryg", "1 event", "OK"}}
	if len(lines) != len(want) {
		t.Fatalf("verify: got %q, want %d lines", out, len(want))
	}
	for i, w := range want {
		for _, part := range w {
			if !strings.Contains(lines[i], part) {
				t.Errorf("line %d: got %q, want it to contain %q", i+1, lines[i], part)
			}
		}
	}

	// Someone with the power to switch off the trigger changes history.
	for _, stmt := range []string{
		"ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
		"UPDATE audit_events SET target_id = 'z' WHERE org_id = '" + nordlys.ID.String() + "' AND seq = 2",
		"ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only",
	} {
		if _, err := db.SQL().ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	out, errOut, code = run("verify")
	if code != exitFailure || !strings.Contains(errOut, "1 of 3 audit chains are broken") {
		t.Errorf("verify after tampering: got exit %d and %q, want %d and the count", code, errOut, exitFailure)
	}
	if !strings.Contains(out, "BROKEN at seq 2") || !strings.Contains(out, "95001238 Havbryg") {
		t.Errorf("verify after tampering: got %q, want Nordlys broken at seq 2 and Havbryg still listed", out)
	}

	out, _, code = run("verify", "--org", "95001238")
	if code != 0 || strings.Contains(out, "Nordlys") || !strings.Contains(out, "Havbryg") {
		t.Errorf("verify --org 95001238: got exit %d and %q, want only Havbryg, OK", code, out)
	}
	out, _, code = run("verify", "--org", "91234564")
	if code != exitFailure || !strings.Contains(out, "BROKEN at seq 2") {
		t.Errorf("verify --org 91234564: got exit %d and %q, want the break", code, out)
	}
	for _, args := range [][]string{{}, {"check"}, {"verify", "extra"}, {"verify", "--org", "12345678"}, {"verify", "--nope"}} {
		if _, _, code := run(args...); code != exitUsage {
			t.Errorf("audit %q: got exit %d, want %d", args, code, exitUsage)
		}
	}
	if _, errOut, code := run("verify", "--org", "10000009"); code != exitFailure || !strings.Contains(errOut, "no organisation has CVR 10000009") {
		t.Errorf("verify an unknown CVR: got exit %d and %q", code, errOut)
	}
}
