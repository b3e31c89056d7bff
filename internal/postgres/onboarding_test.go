package postgres_test

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erhverv/erhverv/internal/dbtest"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/mail"
	"github.com/erhverv/erhverv/internal/pii"
	"github.com/erhverv/erhverv/internal/postgres"
)

// recordingNotifier stands in for the mail queue (internal/jobs has the
// real one and its own tests): it records what would be sent.
type recordingNotifier struct {
	mu   sync.Mutex
	sent []domain.Notification
}

func (n *recordingNotifier) NotifyTx(_ context.Context, tx *sql.Tx, msg domain.Notification) error {
	if tx == nil {
		panic("NotifyTx without a transaction")
	}
	// The mail templates' contract: what the real queue would refuse.
	if err := mail.Validate(msg); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent = append(n.sent, msg)
	return nil
}

func (n *recordingNotifier) last(t *testing.T) domain.Notification {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.sent) == 0 {
		t.Fatal("no notification enqueued")
	}
	return n.sent[len(n.sent)-1]
}

// secretOf takes the secret out of a mailed activation link.
func secretOf(t *testing.T, n domain.Notification) string {
	t.Helper()
	u, err := url.Parse(n.Secrets["Link"])
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("link %q has no token", n.Secrets["Link"])
	}
	return u.Query().Get("token")
}

type onboardingFixture struct {
	db     *postgres.DB
	ob     *postgres.Onboarding
	notify *recordingNotifier
	pii    *pii.Protector
}

func newOnboarding(t *testing.T) *onboardingFixture {
	t.Helper()
	db := dbtest.New(t)
	p, err := pii.New(dbtest.DataKey)
	if err != nil {
		t.Fatal(err)
	}
	n := &recordingNotifier{}
	return &onboardingFixture{db: db, notify: n, pii: p,
		ob: postgres.NewOnboarding(db, n, func(s string) string { return "https://erhverv.test/activate?token=" + s })}
}

func connectRequest(cpr, birth string) postgres.ConnectRequest {
	admin := domain.User{FirstName: "Rikke", LastName: "Brandt", Email: "rikke@solbaer.example.dk", CPR: cpr}
	if birth != "" {
		admin.BirthDate, _ = time.Parse(time.DateOnly, birth)
	}
	return postgres.ConnectRequest{
		Org:            domain.Organisation{CVR: "30264878", Name: "Solbær ApS", Settings: domain.OrgSettings{AllowPrivateMitID: true}},
		Units:          []domain.ProductionUnit{{PNumber: "1045678901", Name: "Solbær Aarhus"}},
		FirstAdmin:     admin,
		Representative: postgres.Representative{Name: "Rikke Brandt", Issuer: "https://broker", Subject: "demo-rikke"},
		Lang:           "da",
	}
}

func TestConnectOrganisationAndActivateByCPR(t *testing.T) {
	t.Parallel()
	f := newOnboarding(t)
	ctx := context.Background()
	org, issued, err := f.ob.ConnectOrganisation(ctx, connectRequest("2811791246", ""))
	if err != nil {
		t.Fatalf("ConnectOrganisation: %v", err)
	}
	if issued.Code != "" {
		t.Errorf("a person with CPR got an activation code %q", issued.Code)
	}
	if d := time.Until(issued.ExpiresAt); d < 59*24*time.Hour || d > 61*24*time.Hour {
		t.Errorf("first administrator's link valid for %v, want 60 days", d)
	}
	n := f.notify.last(t)
	if n.Template != "first_admin" || n.To != "rikke@solbaer.example.dk" || n.Data["OrgName"] != "Solbær ApS" || n.Data["RepresentativeName"] != "Rikke Brandt" {
		t.Errorf("notification = %+v", n)
	}
	if _, dup, err := f.ob.ConnectOrganisation(ctx, connectRequest("2811791246", "")); domain.ErrorKey(err) != "connect.already_connected" {
		t.Fatalf("connecting twice: %v %v, want connect.already_connected", dup, err)
	}

	secret := secretOf(t, n)
	info, err := f.ob.FindActivation(ctx, secret)
	if err != nil || info.OrgID != org.ID || info.NeedsCode || info.UserName != "Rikke Brandt" {
		t.Fatalf("FindActivation = %+v, %v", info, err)
	}
	// Someone else's MitID: refused, nothing changes.
	_, err = f.ob.Activate(ctx, postgres.ActivateRequest{Secret: secret, Issuer: "https://broker", Subject: "demo-mette", CPRHash: f.pii.Hash("0505751234")})
	if domain.ErrorKey(err) != "activation.cpr_mismatch" {
		t.Fatalf("wrong person: %v, want activation.cpr_mismatch", err)
	}
	_, err = f.ob.Activate(ctx, postgres.ActivateRequest{Secret: secret, Issuer: "https://broker", Subject: "demo-rikke"})
	if domain.ErrorKey(err) != "activation.no_cpr" {
		t.Fatalf("login without CPR: %v, want activation.no_cpr", err)
	}
	u, err := f.ob.Activate(ctx, postgres.ActivateRequest{Secret: secret, Issuer: "https://broker", Subject: "demo-rikke", CPRHash: f.pii.Hash("2811791246")})
	if err != nil {
		t.Fatalf("Activate: %v", err)
	}
	if u.Status != domain.UserActive || u.ActivatedAt == nil {
		t.Errorf("activated user = %+v", u)
	}
	ids, err := postgres.NewUserService(f.db).FindIdentitiesOfPerson(ctx, "https://broker", "demo-rikke")
	if err != nil || len(ids) != 1 || ids[0].ID != u.ID {
		t.Fatalf("identities after activation = %v, %v", ids, err)
	}
	roles, _ := postgres.NewAdminRoleService(f.db).ListAdminRolesOfUser(ctx, org.ID, u.ID)
	if len(roles) != 1 || roles[0].Role != domain.RoleOrgAdmin {
		t.Errorf("roles = %+v, want one organisation administrator", roles)
	}
	// Single use.
	if _, err := f.ob.Activate(ctx, postgres.ActivateRequest{Secret: secret, Issuer: "https://broker", Subject: "demo-rikke", CPRHash: f.pii.Hash("2811791246")}); domain.ErrorKey(err) != "activation.used" {
		t.Fatalf("second use: %v, want activation.used", err)
	}
	// Every step is audited, refusals included, and the chain holds.
	var actions []string
	rows, err := f.db.SQL().QueryContext(ctx, "SELECT action, details::text FROM audit_events WHERE org_id = $1 ORDER BY seq", org.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var a, d string
		if err := rows.Scan(&a, &d); err != nil {
			t.Fatal(err)
		}
		actions = append(actions, a)
		if strings.Contains(d, "2811791246") || strings.Contains(d, secret) {
			t.Errorf("audit %s details %s hold a CPR number or the link", a, d)
		}
	}
	want := "organisation.connected,user.created,admin_role.assigned,activation.issued,activation.refused,activation.refused,user.activated"
	if got := strings.Join(actions, ","); got != want {
		t.Errorf("audit actions\n got %s\nwant %s", got, want)
	}
	v, err := postgres.NewAuditLog(f.db).VerifyAudit(ctx, &org.ID)
	if err != nil || !v.OK {
		t.Errorf("VerifyAudit = %+v, %v", v, err)
	}
}

func TestActivateWithCodeForAPersonWithoutCPR(t *testing.T) {
	t.Parallel()
	f := newOnboarding(t)
	ctx := context.Background()
	_, issued, err := f.ob.ConnectOrganisation(ctx, connectRequest("", "1991-06-14"))
	if err != nil {
		t.Fatalf("ConnectOrganisation: %v", err)
	}
	if len(issued.Code) != 11 || issued.Code[5] != '-' {
		t.Fatalf("code = %q, want ABCDE-FGHJK", issued.Code)
	}
	n := f.notify.last(t)
	if n.Data["NeedsCode"] != "true" {
		t.Errorf("mail does not say a code is needed: %+v", n.Data)
	}
	secret := secretOf(t, n)
	req := postgres.ActivateRequest{Secret: secret, Issuer: "https://broker", Subject: "demo-ahmed", BirthDate: "1991-06-14"}
	for code, key := range map[string]string{"": "activation.code_required", "AAAAA-AAAAA": "activation.code_wrong"} {
		req.Code = code
		if _, err := f.ob.Activate(ctx, req); domain.ErrorKey(err) != key {
			t.Errorf("code %q: %v, want %s", code, err, key)
		}
	}
	req.Code, req.BirthDate = issued.Code, "1990-01-01"
	if _, err := f.ob.Activate(ctx, req); domain.ErrorKey(err) != "activation.birth_date_mismatch" {
		t.Errorf("other birth date: %v, want activation.birth_date_mismatch", err)
	}
	// Codes are read aloud and typed: case and the dash do not matter.
	req.Code, req.BirthDate = strings.ToLower(strings.ReplaceAll(issued.Code, "-", " ")), "1991-06-14"
	u, err := f.ob.Activate(ctx, req)
	if err != nil {
		t.Fatalf("Activate with the code: %v", err)
	}
	if u.Status != domain.UserActive {
		t.Errorf("status = %s", u.Status)
	}
}

func TestActivationLinkExpiresAndCanBeResent(t *testing.T) {
	t.Parallel()
	f := newOnboarding(t)
	ctx := context.Background()
	org, issued, err := f.ob.ConnectOrganisation(ctx, connectRequest("2811791246", ""))
	if err != nil {
		t.Fatal(err)
	}
	old := secretOf(t, f.notify.last(t))
	real := f.db.Now
	f.db.Now = func() time.Time { return real().Add(61 * 24 * time.Hour) }
	if _, err := f.ob.FindActivation(ctx, old); domain.ErrorKey(err) != "activation.expired" {
		t.Fatalf("after 61 days: %v, want activation.expired", err)
	}
	f.db.Now = real
	if _, err := f.ob.IssueActivation(ctx, org.ID, issued.UserID, nil, "en", ""); err != nil {
		t.Fatalf("IssueActivation: %v", err)
	}
	n := f.notify.last(t)
	if n.Template != "activation" || n.Lang != "en" {
		t.Errorf("resent notification = %+v", n)
	}
	if _, err := f.ob.FindActivation(ctx, old); domain.ErrorKey(err) != "activation.not_found" {
		t.Errorf("the old link after a resend: %v, want activation.not_found", err)
	}
	if _, err := f.ob.FindActivation(ctx, secretOf(t, n)); err != nil {
		t.Errorf("the new link: %v", err)
	}
	if _, err := f.ob.FindActivation(ctx, "not-a-secret"); domain.ErrorKey(err) != "activation.not_found" {
		t.Errorf("a made-up link: %v", err)
	}
}

func TestConnectValidatesEverythingAndChangesNothing(t *testing.T) {
	t.Parallel()
	f := newOnboarding(t)
	ctx := context.Background()
	req := connectRequest("3213991234", "")
	req.FirstAdmin.Email = "not-an-email"
	req.Org.Settings.MandatoryUserFields = []string{"phone"}
	_, _, err := f.ob.ConnectOrganisation(ctx, req)
	var ve domain.ValidationErrors
	if !ve.As(err) && domain.ErrorCode(err) != domain.EINVALID {
		t.Fatalf("err = %v, want validation errors", err)
	}
	fields := map[string]bool{}
	for _, e := range err.(domain.ValidationErrors) {
		fields[e.Field] = true
		if strings.Contains(e.Message, "3213991234") {
			t.Errorf("message %q repeats the CPR number", e.Message)
		}
	}
	for _, want := range []string{"cpr", "email", "phone"} {
		if !fields[want] {
			t.Errorf("no error for %s in %v", want, err)
		}
	}
	var n int
	if err := f.db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM organisations").Scan(&n); err != nil || n != 0 {
		t.Errorf("organisations after a refused connect: %d, %v", n, err)
	}
	if len(f.notify.sent) != 0 {
		t.Errorf("notifications after a refused connect: %d", len(f.notify.sent))
	}
}

func TestOneLivingUserPerEmailInAnOrganisation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "91234564", "1012345671")
	ctx := context.Background()
	a := &domain.User{OrgID: f.org.ID, FirstName: "Ida", LastName: "Holm", Email: "ida@example.dk", CPR: "0302901234", Status: domain.UserActive}
	if err := f.users.CreateUser(ctx, a); err != nil {
		t.Fatal(err)
	}
	// The database itself refuses the second, whatever the case of the address.
	b := &domain.User{OrgID: f.org.ID, FirstName: "Ida", LastName: "Berg", Email: "IDA@example.dk", CPR: "0302911234", Status: domain.UserActive}
	if err := f.users.CreateUser(ctx, b); domain.ErrorKey(err) != "user.email_taken" {
		t.Fatalf("second user with the email: %v, want user.email_taken", err)
	}
	// Once the first is deleted, the address is free again.
	if err := f.users.SetUserStatus(ctx, f.org.ID, a.ID, a.Version, domain.UserDeleted); err != nil {
		t.Fatal(err)
	}
	if err := f.users.CreateUser(ctx, b); err != nil {
		t.Errorf("the address after the first user's deletion: %v", err)
	}
}
