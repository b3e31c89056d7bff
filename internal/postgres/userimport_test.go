package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/userimport"
)

// importFixture is an organisation with an active organisation
// administrator who uploads the files.
type importFixture struct {
	*fixture
	imports *postgres.UserImports
	admin   *domain.User
	actor   postgres.Actor
}

func newImportFixture(t *testing.T, f *fixture) *importFixture {
	t.Helper()
	admin := f.user(t, "admin", "")
	if err := f.roles.AssignAdminRole(context.Background(), &domain.AdminRole{OrgID: f.org.ID, UserID: admin.ID, Role: domain.RoleOrgAdmin}); err != nil {
		t.Fatal(err)
	}
	return &importFixture{fixture: f, imports: f.users.Imports(), admin: admin,
		actor: postgres.Actor{UserID: admin.ID, Label: "Admin Jensen", RequestID: "req-1", Address: "192.0.2.1"}}
}

func (f *importFixture) stage(t *testing.T, file string) *userimport.Import {
	t.Helper()
	imp, err := f.imports.Stage(context.Background(), postgres.StageRequest{OrgID: f.org.ID, UploadedBy: f.admin.ID,
		FileName: "brugere.csv", File: strings.NewReader(file)})
	if err != nil {
		t.Fatalf("Stage: %v", err)
	}
	return imp
}

// rowErrors lists the problems of an import as "line column:key".
func (f *importFixture) rowErrors(t *testing.T, imp *userimport.Import) []string {
	t.Helper()
	rows, err := f.imports.ImportRows(context.Background(), f.org.ID, f.admin.ID, imp.ID, true, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		for _, e := range r.Errors {
			s := fmt.Sprintf("%d %s:%s", r.Line, e.Column, e.Key)
			if e.Row != 0 {
				s += fmt.Sprintf("@%d", e.Row)
			}
			out = append(out, s)
		}
	}
	return out
}

func (f *importFixture) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.SQL().QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

const importHead = "handling;uuid;fornavn;efternavn;email;telefon;cpr;fødselsdato;p_nummer;medarbejdernummer;afdeling\n"

func TestImportStagesAndAppliesAllActions(t *testing.T) {
	t.Parallel()
	f := newImportFixture(t, newFixture(t, "10000009", "1000000001"))
	ctx := context.Background()
	bo, frida, gustav := f.user(t, "bo", ""), f.user(t, "frida", ""), f.user(t, "gustav", "0202802345")
	alice := f.user(t, "alice", "0101901234")
	if err := f.users.LinkPerson(ctx, &domain.PersonLink{OrgID: f.org.ID, UserID: gustav.ID, BrokerIssuer: "https://broker", BrokerSubject: "g"}); err != nil {
		t.Fatal(err)
	}
	file := importHead +
		"opret;;Dora;Dahl;dora@example.dk;+45 11 22 33 44;030395-1234;;1000000001;17;Salg\n" +
		"opret;;Erik;<b>Eg</b>;erik@example.dk;;;1985-04-23;;;\n" +
		"opdater;" + bo.ID.String() + ";bo;Jensen;bo.ny@example.dk;;;;;;Lager\n" +
		"opdater;" + alice.ID.String() + ";alice;Jensen;alice@example.dk;;;;;;\n" + // as stored: no change
		"deaktiver;" + frida.ID.String() + ";;;;;;;;;\n" +
		"slet;" + gustav.ID.String() + ";;;;;;;;;\n" +
		// Gustav is deleted and hired again in the same file.
		"opret;;Gustav;Jensen;gustav@example.dk;;0202802345;;;;\n"
	imp := f.stage(t, file)
	want := userimport.Counts{Rows: 7, Creates: 3, Updates: 2, Unchanged: 1, Deactivations: 1, Deletions: 1}
	if imp.Counts != want {
		t.Fatalf("counts: got %+v, want %+v (errors %v)", imp.Counts, want, f.rowErrors(t, imp))
	}
	// The CPR numbers are staged only as the users table keeps them.
	if n := f.count(t, "SELECT count(*) FROM user_import_rows r WHERE row_to_json(r)::text LIKE '%030395%' OR row_to_json(r)::text LIKE '%0202802345%'"); n != 0 {
		t.Errorf("staged rows holding a CPR number in clear: %d", n)
	}
	auditBefore := f.count(t, "SELECT count(*) FROM audit_events WHERE org_id = $1", f.org.ID)

	applied, err := f.imports.ApplyImport(ctx, f.actor, f.org.ID, imp.ID)
	if err != nil {
		t.Fatalf("ApplyImport: %v", err)
	}
	if applied.Status != userimport.StatusApplied || applied.AppliedAt == nil {
		t.Errorf("after apply: status %q", applied.Status)
	}
	users, _, err := f.users.FindUsers(ctx, domain.UserFilter{OrgID: f.org.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	byEmail := map[string]*domain.User{}
	for _, u := range users {
		byEmail[u.Email] = u
	}
	dora := byEmail["dora@example.dk"]
	if dora == nil || dora.Status != domain.UserPending || dora.Phone != "+4511223344" || !dora.HasCPR ||
		dora.ProductionUnitID == nil || *dora.ProductionUnitID != f.unit.ID || dora.ExtraFields["employee_number"] != "17" ||
		dora.ExtraFields["department"] != "Salg" || dora.BirthDate.Format(time.DateOnly) != "1995-03-03" {
		t.Errorf("created dora: %+v", dora)
	}
	if ok, err := f.users.MatchCPR(ctx, f.org.ID, dora.ID, "0303951234"); err != nil || !ok {
		t.Errorf("dora's CPR does not match: %v %v", ok, err)
	}
	if erik := byEmail["erik@example.dk"]; erik == nil || erik.LastName != "<b>Eg</b>" || erik.HasCPR {
		t.Errorf("created erik: %+v", erik)
	}
	gotBo, _ := f.users.FindUserByID(ctx, f.org.ID, bo.ID)
	if gotBo.Email != "bo.ny@example.dk" || gotBo.ExtraFields["department"] != "Lager" || gotBo.Version != bo.Version+1 {
		t.Errorf("updated bo: email %q, extra %v, version %d", gotBo.Email, gotBo.ExtraFields, gotBo.Version)
	}
	if gotAlice, _ := f.users.FindUserByID(ctx, f.org.ID, alice.ID); gotAlice.Version != alice.Version {
		t.Errorf("unchanged alice: version %d, want %d", gotAlice.Version, alice.Version)
	}
	if got, _ := f.users.FindUserByID(ctx, f.org.ID, frida.ID); got.Status != domain.UserDeactivated {
		t.Errorf("frida: %s, want deactivated", got.Status)
	}
	if got, _ := f.users.FindUserByID(ctx, f.org.ID, gustav.ID); got.Status != domain.UserDeleted || got.Email != "" || got.HasCPR {
		t.Errorf("deleted gustav: %+v", got)
	}
	if n := f.count(t, "SELECT count(*) FROM person_links WHERE user_id = $1", gustav.ID); n != 0 {
		t.Errorf("deleted user's person link kept")
	}
	if u := byEmail["gustav@example.dk"]; u == nil || u.ID == gustav.ID || !u.HasCPR {
		t.Errorf("gustav hired again: %+v", u)
	}
	// One summary event and one per changed user, in a chain that verifies.
	var actions []string
	rows, err := f.db.SQL().QueryContext(ctx, "SELECT action FROM audit_events WHERE org_id = $1 ORDER BY seq OFFSET $2", f.org.ID, auditBefore)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a string
		_ = rows.Scan(&a)
		actions = append(actions, a)
	}
	rows.Close()
	wantActions := []string{"user_import.applied", "user.created", "user.created", "user.updated", "user.deactivated", "user.deleted", "user.created"}
	if !slices.Equal(actions, wantActions) {
		t.Errorf("audit events: got %v, want %v", actions, wantActions)
	}
	var details string
	_ = f.db.SQL().QueryRowContext(ctx, "SELECT details::text FROM audit_events WHERE org_id = $1 AND action = 'user.updated'", f.org.ID).Scan(&details)
	for _, s := range []string{`"before": {"email": "bo@example.dk", "department": ""}`, `"after": {"email": "bo.ny@example.dk", "department": "Lager"}`, `"address": "192.0.2.1"`} {
		if !strings.Contains(details, s) {
			t.Errorf("update event details %s: want %s", details, s)
		}
	}
	v, err := postgres.NewAuditLog(f.db).VerifyAudit(ctx, &f.org.ID)
	if err != nil || !v.OK {
		t.Errorf("VerifyAudit: %+v %v", v, err)
	}
	// The staged rows are gone; the import cannot be applied twice.
	if n := f.count(t, "SELECT count(*) FROM user_import_rows WHERE import_id = $1", imp.ID); n != 0 {
		t.Errorf("staged rows left after apply: %d", n)
	}
	_, err = f.imports.ApplyImport(ctx, f.actor, f.org.ID, imp.ID)
	wantCode(t, "apply twice", err, domain.ECONFLICT)
}

func TestImportUpdateKeepsWhatTheFileLeavesOut(t *testing.T) {
	t.Parallel()
	f := newImportFixture(t, newFixture(t, "10000009", "1000000001"))
	ctx := context.Background()
	se := &domain.SENumber{OrgID: f.org.ID, SENumber: "12345678", Name: "Moms"}
	if err := f.orgs.CreateSENumber(ctx, se); err != nil {
		t.Fatal(err)
	}
	u := &domain.User{OrgID: f.org.ID, FirstName: "Dora", LastName: "Dahl", Email: "dora@example.dk", Phone: "+4511223344",
		CPR: "0303951234", SENumberID: &se.ID, ExtraFields: map[string]string{"department": "Salg", "employee_number": "7"}, Status: domain.UserActive}
	if err := f.users.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	// No name, email, CPR or birth date columns; a P-number; the phone
	// and the department emptied.
	imp := f.stage(t, "handling;uuid;telefon;p_nummer;afdeling\nopdater;"+u.ID.String()+";;1000000001;\n")
	if imp.Counts.WithErrors != 0 || imp.Counts.Updates != 1 || imp.Counts.Unchanged != 0 {
		t.Fatalf("staged: %+v %v", imp.Counts, f.rowErrors(t, imp))
	}
	if _, err := f.imports.ApplyImport(ctx, f.actor, f.org.ID, imp.ID); err != nil {
		t.Fatal(err)
	}
	got, _ := f.users.FindUserByID(ctx, f.org.ID, u.ID)
	if got.FirstName != "Dora" || got.Email != "dora@example.dk" || !got.HasCPR || got.BirthDate.Format(time.DateOnly) != "1995-03-03" ||
		got.Phone != "" || got.SENumberID != nil || got.ProductionUnitID == nil || *got.ProductionUnitID != f.unit.ID ||
		got.ExtraFields["department"] != "" || got.ExtraFields["employee_number"] != "7" {
		t.Errorf("after the update: %+v", got)
	}
	if ok, _ := f.users.MatchCPR(ctx, f.org.ID, u.ID, "0303951234"); !ok {
		t.Error("the CPR number changed")
	}
}

func TestImportChecksRowsAgainstTheOrganisation(t *testing.T) {
	t.Parallel()
	db := newFixture(t, "10000009", "1000000001")
	f := newImportFixture(t, db)
	other := fixtureOn(t, db.db, "10000017", "1000000002")
	ctx := context.Background()
	alice := f.user(t, "alice", "0101901234")
	bo := f.user(t, "bo", "")
	pending := &domain.User{OrgID: f.org.ID, FirstName: "Per", LastName: "Dam", Email: "per@example.dk", BirthDate: time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := f.users.CreateUser(ctx, pending); err != nil {
		t.Fatal(err)
	}
	stranger := other.user(t, "stranger", "")
	file := importHead +
		"opret;;A;A;dup@example.dk;;;1985-04-23;;;\n" + // 2
		"opret;;B;B;DUP@example.dk;;;1985-04-23;;;\n" + // 3: email of row 2
		"opret;;C;C;admin@example.dk;;;1985-04-23;;;\n" + // 4: the administrator's email
		"opret;;D;D;d@example.dk;;0101901234;;;;\n" + // 5: alice's CPR
		"opret;;E;E;e@example.dk;;0303951234;;;;\n" + // 6
		"opret;;F;F;f@example.dk;;0303951234;;;;\n" + // 7: CPR of row 6
		"opdater;" + stranger.ID.String() + ";S;S;s@example.dk;;;;;;\n" + // 8: another organisation's user
		"deaktiver;" + pending.ID.String() + ";;;;;;;;;\n" + // 9: pending cannot be deactivated
		"slet;" + bo.ID.String() + ";;;;;;;;;\n" + // 10
		"deaktiver;" + bo.ID.String() + ";;;;;;;;;\n" + // 11: bo again
		"opdater;" + alice.ID.String() + ";alice;Jensen;alice@example.dk;;0303951234;;;;\n" + // 12: another CPR
		"deaktiver;" + f.admin.ID.String() + ";;;;;;;;;\n" + // 13: the last organisation administrator
		"opret;;Ok;Ok;bo.gammel@example.dk;;;1985-04-23;;;\n" // 14: fine
	imp := f.stage(t, file)
	want := []string{
		"3 email:email_repeated@2",
		"4 email:email_taken",
		"5 cpr:cpr_taken",
		"7 cpr:cpr_repeated@6",
		"8 uuid:user_not_found",
		"9 action:deactivate_pending",
		"11 uuid:user_repeated@10",
		"12 cpr:cpr_change",
		"12 cpr:cpr_repeated@6",
		"13 action:last_org_admin",
	}
	// Rows 6 and 7 share a CPR number: only the later one is wrong. Row 14
	// takes an email that row 10 frees.
	got := f.rowErrors(t, imp)
	if !slices.Equal(got, want) {
		t.Errorf("row errors:\n got %v\nwant %v", got, want)
	}
	if imp.Counts.WithErrors != 9 {
		t.Errorf("rows with errors: got %d, want 9", imp.Counts.WithErrors)
	}
	// Nothing is applied while rows have problems.
	_, err := f.imports.ApplyImport(ctx, f.actor, f.org.ID, imp.ID)
	wantCode(t, "apply with errors", err, domain.EINVALID)
	if n := f.count(t, "SELECT count(*) FROM users WHERE org_id = $1", f.org.ID); n != 4 {
		t.Errorf("users after a refused apply: %d, want 4", n)
	}
}

func TestImportIsAllOrNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	snapshot := func(f *importFixture) string {
		t.Helper()
		var s string
		err := f.db.SQL().QueryRowContext(ctx, `SELECT string_agg(id::text || status || email || version, ',' ORDER BY id) || '/' ||
			(SELECT count(*) FROM audit_events WHERE org_id = $1) FROM users WHERE org_id = $1`, f.org.ID).Scan(&s)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Run("a conflict found when confirming", func(t *testing.T) {
		t.Parallel()
		f := newImportFixture(t, newFixture(t, "10000009", "1000000001"))
		bo := f.user(t, "bo", "")
		imp := f.stage(t, importHead+
			"opdater;"+bo.ID.String()+";Bo;Berg;bo@example.dk;;;;;;\n"+
			"opret;;Nina;Nord;nina@example.dk;;;1985-04-23;;;\n")
		if imp.Counts.WithErrors != 0 {
			t.Fatalf("staged with errors: %v", f.rowErrors(t, imp))
		}
		// Someone creates Nina by hand before the file is confirmed.
		f.user(t, "nina", "")
		before := snapshot(f)
		_, err := f.imports.ApplyImport(ctx, f.actor, f.org.ID, imp.ID)
		if !errors.Is(err, postgres.ErrImportChanged) {
			t.Fatalf("apply: got %v, want ErrImportChanged", err)
		}
		if after := snapshot(f); after != before {
			t.Errorf("a refused import changed users or the audit log:\n%s\n%s", before, after)
		}
		if got := f.rowErrors(t, imp); !slices.Equal(got, []string{"3 email:email_taken"}) {
			t.Errorf("row errors after the refusal: %v", got)
		}
		again, err := f.imports.FindImport(ctx, f.org.ID, f.admin.ID, imp.ID)
		if err != nil || again.Status != userimport.StatusPending || again.Counts.WithErrors != 1 {
			t.Errorf("import after the refusal: %+v %v", again, err)
		}
	})
	t.Run("a statement failing half way", func(t *testing.T) {
		t.Parallel()
		f := newImportFixture(t, newFixture(t, "10000009", "1000000001"))
		bo := f.user(t, "bo", "")
		unit := &domain.ProductionUnit{OrgID: f.org.ID, PNumber: "1000000099", Name: "Filial"}
		if err := f.orgs.CreateProductionUnit(ctx, unit); err != nil {
			t.Fatal(err)
		}
		imp := f.stage(t, importHead+
			"slet;"+bo.ID.String()+";;;;;;;;;\n"+
			"opret;;Nina;Nord;nina@example.dk;;;1985-04-23;1000000099;;\n")
		if imp.Counts.WithErrors != 0 {
			t.Fatalf("staged with errors: %v", f.rowErrors(t, imp))
		}
		// The unit disappears after the checks: the create fails on its
		// foreign key after the delete has run.
		if _, err := f.db.SQL().ExecContext(ctx, "DELETE FROM production_units WHERE id = $1", unit.ID); err != nil {
			t.Fatal(err)
		}
		before := snapshot(f)
		_, err := f.imports.ApplyImport(ctx, f.actor, f.org.ID, imp.ID)
		if err == nil {
			t.Fatal("apply succeeded with a missing unit")
		}
		if after := snapshot(f); after != before {
			t.Errorf("a failed import changed users or the audit log:\n%s\n%s", before, after)
		}
	})
}

func TestImportsStayWithTheirUploader(t *testing.T) {
	t.Parallel()
	base := newFixture(t, "10000009", "1000000001")
	f := newImportFixture(t, base)
	other := newImportFixture(t, fixtureOn(t, base.db, "10000017", "1000000002"))
	ctx := context.Background()
	imp := f.stage(t, importHead+"opret;;Nina;Nord;nina@example.dk;;;1985-04-23;;;\n")
	colleague := f.user(t, "kollega", "")

	for name, call := range map[string]func() error{
		"another organisation finds": func() error {
			_, err := other.imports.FindImport(ctx, other.org.ID, other.admin.ID, imp.ID)
			return err
		},
		"another organisation applies": func() error {
			_, err := other.imports.ApplyImport(ctx, other.actor, other.org.ID, imp.ID)
			return err
		},
		"a colleague applies": func() error {
			_, err := f.imports.ApplyImport(ctx, postgres.Actor{UserID: colleague.ID}, f.org.ID, imp.ID)
			return err
		},
		"another organisation discards": func() error { return other.imports.DiscardImport(ctx, other.org.ID, other.admin.ID, imp.ID) },
	} {
		wantCode(t, name, call(), domain.ENOTFOUND)
	}
	if rows, err := other.imports.ImportRows(ctx, other.org.ID, other.admin.ID, imp.ID, false, 0, 10); err != nil || len(rows) != 0 {
		t.Errorf("another organisation lists %d rows (%v)", len(rows), err)
	}
	// Expired imports are not found, and the next upload purges them.
	f.db.Now = func() time.Time { return time.Now().Add(postgres.ImportValidity + time.Minute) }
	_, err := f.imports.FindImport(ctx, f.org.ID, f.admin.ID, imp.ID)
	wantCode(t, "expired", err, domain.ENOTFOUND)
	f.stage(t, importHead+"opret;;Ole;Olsen;ole@example.dk;;;1985-04-23;;;\n")
	if n := f.count(t, "SELECT count(*) FROM user_imports WHERE id = $1", imp.ID); n != 0 {
		t.Errorf("expired import kept")
	}
	if err := f.imports.DiscardImport(ctx, f.org.ID, f.admin.ID, imp.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("discard an expired import: %v", err)
	}
}

// endless is a reader of a heading row and then rows without end.
type endless struct {
	head, row string
	buf       []byte
}

func (e *endless) Read(p []byte) (int, error) {
	if len(e.buf) == 0 {
		e.buf = []byte(e.head)
		e.head = ""
		if len(e.buf) == 0 {
			e.buf = []byte(e.row)
		}
	}
	n := copy(p, e.buf)
	e.buf = e.buf[n:]
	return n, nil
}

func TestStageRefusesUnusableFilesAndKeepsNothing(t *testing.T) {
	t.Parallel()
	f := newImportFixture(t, newFixture(t, "10000009", "1000000001"))
	ctx := context.Background()
	tests := []struct {
		name string
		file io.Reader
		key  string
	}{
		{"unknown heading", strings.NewReader("handling;skonummer\nopret;42\n"), "header_unknown"},
		{"heading only", strings.NewReader(importHead), "no_rows"},
		{"larger than 50 MB", &endless{head: "handling;uuid;status\n", row: "slet;" + uuid.NewString() + ";" + strings.Repeat("x", 20000) + "\n"}, "too_large"},
	}
	for _, tt := range tests {
		_, err := f.imports.Stage(ctx, postgres.StageRequest{OrgID: f.org.ID, UploadedBy: f.admin.ID, File: tt.file})
		var fe *userimport.FileError
		if !errors.As(err, &fe) || fe.Key != tt.key {
			t.Errorf("%s: got %v, want file error %q", tt.name, err, tt.key)
		}
	}
	if n := f.count(t, "SELECT count(*) FROM user_imports"); n != 0 {
		t.Errorf("refused files left %d imports", n)
	}
}

func TestStageStoresOddBytesAsRowErrors(t *testing.T) {
	t.Parallel()
	f := newImportFixture(t, newFixture(t, "10000009", "1000000001"))
	imp, err := f.imports.Stage(context.Background(), postgres.StageRequest{OrgID: f.org.ID, UploadedBy: f.admin.ID,
		FileName: "a\x00b.csv", File: strings.NewReader(importHead +
			"opret;;Nul\x00;Berg;nul@example.dk;;;1985-04-23;;;\n" +
			"fl\x00yt;;Ny\x00;Berg;\xff@example.dk;;;1985-04-23;;;\n")})
	if err != nil {
		t.Fatalf("Stage: %v", err)
	}
	if got := f.rowErrors(t, imp); !slices.Equal(got, []string{"2 first_name:control", "3 action:control"}) {
		t.Errorf("row errors: %v", got)
	}
	if imp.FileName != "ab.csv" {
		t.Errorf("file name: %q", imp.FileName)
	}
}

func TestExportUsers(t *testing.T) {
	t.Parallel()
	f := newImportFixture(t, newFixture(t, "10000009", "1000000001"))
	ctx := context.Background()
	u := &domain.User{OrgID: f.org.ID, FirstName: "Dora", LastName: "Dahl", Email: "dora@example.dk", Phone: "+4511223344", CPR: "0303951234",
		ProductionUnitID: &f.unit.ID, ExtraFields: map[string]string{"department": "Salg"}, Status: domain.UserActive}
	if err := f.users.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	gone := f.user(t, "gone", "")
	if err := f.users.SetUserStatus(ctx, f.org.ID, gone.ID, gone.Version, domain.UserDeleted); err != nil {
		t.Fatal(err)
	}
	var got []userimport.Record
	n, err := f.imports.ExportUsers(ctx, f.org.ID, func(r *userimport.Record) error {
		got = append(got, *r)
		return nil
	})
	if err != nil || n != 2 || len(got) != 2 {
		t.Fatalf("export: %d records, %v; want 2 (admin and Dora)", n, err)
	}
	d := got[0]
	want := userimport.Record{UserID: u.ID, FirstName: "Dora", LastName: "Dahl", Email: "dora@example.dk", Phone: "+4511223344",
		BirthDate: "1995-03-03", PNumber: "1000000001", Department: "Salg", Status: domain.UserActive}
	if d != want {
		t.Errorf("exported Dora:\n got %+v\nwant %+v", d, want)
	}
}
