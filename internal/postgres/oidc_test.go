package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/dbtest"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/seed"
)

func seeded(t *testing.T) *postgres.DB {
	t.Helper()
	db := dbtest.New(t)
	if _, err := seed.Demo(context.Background(), db, ""); err != nil {
		t.Fatal(err)
	}
	return db
}

func count(t *testing.T, db *postgres.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Pool().QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestOIDCClientRefusalsStoreNothing: every refused registration leaves
// neither a client nor an audit event behind.
func TestOIDCClientRefusalsStoreNothing(t *testing.T) {
	t.Parallel()
	db := seeded(t)
	clients := postgres.NewOIDCClients(db)
	skattefar, nordlys := seed.ID("org:"+seed.CVRSkattefar), seed.ID("org:"+seed.CVRNordlys)
	henrik := postgres.Actor{UserID: seed.ID("user:henrik"), Label: "Henrik Skat"}
	good := func() postgres.NewOIDCClient {
		return postgres.NewOIDCClient{OrgID: skattefar, ITSystemID: seed.ID("system:moms"), Name: "Moms",
			RedirectURIs: []string{"https://moms.example.dk/cb"}, AuthMethod: domain.OIDCAuthSecretBasic}
	}
	events := count(t, db, "SELECT count(*) FROM audit_events")
	for name, tc := range map[string]struct {
		edit  func(*postgres.NewOIDCClient)
		field string
	}{
		"no name":             {func(n *postgres.NewOIDCClient) { n.Name = " " }, "name"},
		"no redirect":         {func(n *postgres.NewOIDCClient) { n.RedirectURIs = nil }, "redirect_uris"},
		"http redirect":       {func(n *postgres.NewOIDCClient) { n.RedirectURIs = []string{"http://moms.example.dk/cb"} }, "redirect_uris"},
		"fragment":            {func(n *postgres.NewOIDCClient) { n.RedirectURIs = []string{"https://moms.example.dk/cb#x"} }, "redirect_uris"},
		"wildcard":            {func(n *postgres.NewOIDCClient) { n.RedirectURIs = []string{"https://*.example.dk/cb"} }, "redirect_uris"},
		"bad post-logout":     {func(n *postgres.NewOIDCClient) { n.PostLogoutRedirectURIs = []string{"javascript:alert(1)"} }, "post_logout_redirect_uris"},
		"unknown auth":        {func(n *postgres.NewOIDCClient) { n.AuthMethod = "client_secret_post" }, "auth_method"},
		"key missing":         {func(n *postgres.NewOIDCClient) { n.AuthMethod = domain.OIDCAuthPrivateKeyJWT }, "public_jwk"},
		"key with secret":     {func(n *postgres.NewOIDCClient) { n.PublicJWK = `{"kty":"EC"}` }, "public_jwk"},
		"bad level":           {func(n *postgres.NewOIDCClient) { n.MinLevel = "medium" }, "min_level"},
		"bad claim style":     {func(n *postgres.NewOIDCClient) { n.ClaimStyle = "saml2" }, "claim_style"},
		"another's IT system": {func(n *postgres.NewOIDCClient) { n.OrgID = nordlys }, "it_system"},
	} {
		n := good()
		tc.edit(&n)
		_, _, err := clients.Register(context.Background(), henrik, n)
		var verrs domain.ValidationErrors
		var derr *domain.Error
		switch {
		case errors.As(err, &verrs):
			if fields := verrs.Fields(); fields[tc.field] == nil {
				t.Errorf("%s: fields %v, want %s", name, fields, tc.field)
			}
		case errors.As(err, &derr):
			if derr.Field != tc.field {
				t.Errorf("%s: field %q, want %s (%v)", name, derr.Field, tc.field, err)
			}
		default:
			t.Errorf("%s: %v, want a refusal of %s", name, err, tc.field)
		}
	}
	if n := count(t, db, "SELECT count(*) FROM oidc_clients"); n != 0 {
		t.Errorf("%d clients stored by refused registrations", n)
	}
	if n := count(t, db, "SELECT count(*) FROM audit_events"); n != events {
		t.Errorf("refused registrations audited: %d events, want %d", n, events)
	}

	// Registered: another organisation cannot see or revoke it.
	c, secret, err := clients.Register(context.Background(), henrik, good())
	if err != nil || len(secret) < 40 {
		t.Fatalf("register: %v (secret %d chars)", err, len(secret))
	}
	if _, err := clients.Find(context.Background(), nordlys, c.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("Nordlys finds Skattefar's client: %v", err)
	}
	if err := clients.Revoke(context.Background(), henrik, nordlys, c.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("Nordlys revokes Skattefar's client: %v", err)
	}
}

// TestOIDCGrantLifecycle: a request is answered once, its code exchanged
// once (a replay revokes the tokens), ending a user's sessions revokes
// them too, and expired grants are swept.
func TestOIDCGrantLifecycle(t *testing.T) {
	t.Parallel()
	db := seeded(t)
	ctx := context.Background()
	clients, grants := postgres.NewOIDCClients(db), postgres.NewOIDCGrants(db)
	c, _, err := clients.Register(ctx, postgres.Actor{Label: "Henrik Skat"}, postgres.NewOIDCClient{
		OrgID: seed.ID("org:" + seed.CVRSkattefar), ITSystemID: seed.ID("system:moms"), Name: "Moms",
		RedirectURIs: []string{"https://moms.example.dk/cb"}, AuthMethod: domain.OIDCAuthNone})
	if err != nil {
		t.Fatal(err)
	}
	lars, nordlys := seed.ID("user:lars"), seed.ID("org:"+seed.CVRNordlys)
	id := uuid.New()
	if err := grants.Create(ctx, id, c.ID, []byte(`{}`), domain.LoASubstantial, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	login := postgres.OIDCLogin{UserID: lars, OrgID: nordlys, Level: domain.LoASubstantial, AMR: []string{"mitid:code_app"}, AuthTime: time.Now()}
	if _, err := grants.ExchangeCode(ctx, "code-1", time.Now().Add(5*time.Minute)); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("a code for an unanswered request: %v", err)
	}
	if err := grants.Complete(ctx, id, login, "code-1", time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := grants.Complete(ctx, id, login, "code-other", time.Now().Add(time.Minute)); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Errorf("a second answer: %v", err)
	}
	g, err := grants.ExchangeCode(ctx, "code-1", time.Now().Add(5*time.Minute))
	if err != nil || g.ID != id || *g.UserID != lars {
		t.Fatalf("exchange: %+v, %v", g, err)
	}
	if _, err := grants.LiveToken(ctx, id); err != nil {
		t.Fatalf("token after exchange: %v", err)
	}
	if _, err := grants.ExchangeCode(ctx, "code-1", time.Now().Add(5*time.Minute)); !errors.Is(err, postgres.ErrCodeReplayed) {
		t.Errorf("replayed code: %v", err)
	}
	if _, err := grants.LiveToken(ctx, id); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("the replay left the token alive: %v", err)
	}
	if _, err := grants.ExchangeCode(ctx, "never-issued", time.Now()); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("unknown code: %v", err)
	}

	// Ending Lars's sessions revokes a live token of his.
	id2 := uuid.New()
	_ = grants.Create(ctx, id2, c.ID, []byte(`{}`), domain.LoASubstantial, time.Now().Add(time.Minute))
	_ = grants.Complete(ctx, id2, login, "code-2", time.Now().Add(time.Minute))
	if _, err := grants.ExchangeCode(ctx, "code-2", time.Now().Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	admin := postgres.NewAdministration(db, postgres.NewOnboarding(db, nil, func(s string) string { return s }), "")
	if err := admin.EndSessions(ctx, postgres.Actor{UserID: seed.ID("user:mette"), Label: "Mette"}, nordlys, lars); err != nil {
		t.Fatal(err)
	}
	if _, err := grants.LiveToken(ctx, id2); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("ended sessions left the token alive: %v", err)
	}
	who, err := grants.LoginIdentity(ctx, lars)
	if err != nil || who.LoginStillValid(time.Now().Add(-time.Second)) || !who.LoginStillValid(time.Now().Add(time.Second)) {
		t.Errorf("sessions ended at %v: %v", who.SessionsEndedAt, err)
	}

	// Sweeping: an abandoned request past its expiry goes, a live one stays.
	old := uuid.New()
	_ = grants.Create(ctx, old, c.ID, []byte(`{}`), domain.LoALow, time.Now().Add(-time.Second))
	if n, err := grants.Sweep(ctx); err != nil || n < 1 {
		t.Errorf("sweep: %d, %v", n, err)
	}
	if n := count(t, db, "SELECT count(*) FROM oidc_grants WHERE id = $1", old); n != 0 {
		t.Error("an expired grant survived the sweep")
	}
	if n := count(t, db, "SELECT count(*) FROM oidc_grants WHERE id = $1", id2); n != 1 {
		t.Error("the sweep took a grant whose tokens live")
	}
}
