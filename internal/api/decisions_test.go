package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/rights"
	"github.com/erhverv/erhverv/internal/server"
)

// ask posts one question and returns the decision and the raw body.
func ask(t testing.TB, env *testEnv, tok string, q any) (decisionJSON, []byte) {
	t.Helper()
	resp := env.do(t, "POST", "/api/v1/decisions", tok, q, nil)
	var d decisionJSON
	env.decode(t, resp, http.StatusOK, &d)
	body, _ := io.ReadAll(resp.Body)
	return d, body
}

func codes(d decisionJSON) []string {
	out := make([]string, len(d.Reasons))
	for i, r := range d.Reasons {
		out[i] = r.Code
	}
	return out
}

func TestDecisions(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	env := f.env
	tok := env.token(t, f.acme, "decisions")
	kle := domain.ConstraintKLE
	twoHoursAgo := time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339)
	for _, tt := range []struct {
		name  string
		q     map[string]any
		allow bool
		code  string // among the reasons
	}{
		{"held directly", map[string]any{"user_id": f.anna.ID, "privilege": f.moms.URI}, true, rights.CodeGrantDirect},
		{"at a unit of the CVR held", map[string]any{"user_id": f.anna.ID, "privilege": f.moms.URI,
			"scope": map[string]string{"type": "pnumber", "value": f.unit.PNumber}}, true, rights.CodeGrantDirect},
		{"for another company", map[string]any{"user_id": f.anna.ID, "privilege": f.moms.URI,
			"scope": map[string]string{"type": "cvr", "value": f.other.CVR}}, false, rights.CodeScopeMismatch},
		{"not held", map[string]any{"user_id": f.anna.ID, "privilege": f.hemmelig.URI}, false, rights.CodeGrantNone},
		{"a login too low", map[string]any{"user_id": f.anna.ID, "privilege": f.moms.URI, "level": "low"}, false, rights.CodeLevelTooLow},
		{"before it began", map[string]any{"user_id": f.anna.ID, "privilege": f.moms.URI, "at": twoHoursAgo}, false, rights.CodeGrantNotYetValid},
		{"through a group, within its KLE", map[string]any{"user_id": f.bo.ID, "privilege": f.sag.URI,
			"constraints": map[string]string{kle: "25.02.01"}}, true, rights.CodeGrantGroup},
		{"through a group, outside its KLE", map[string]any{"user_id": f.bo.ID, "privilege": f.sag.URI,
			"constraints": map[string]string{kle: "26.01"}}, false, rights.CodeConstraintMismatch},
		{"through a group, no KLE", map[string]any{"user_id": f.bo.ID, "privilege": f.sag.URI}, false, rights.CodeConstraintMissing},
		{"an unknown privilege", map[string]any{"user_id": f.bo.ID, "privilege": "urn:dk:test:nothing"}, false, rights.CodeGrantNone},
		{"an unknown user", map[string]any{"user_id": uuid.New(), "privilege": f.moms.URI}, false, rights.CodeIdentityUnknown},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := ask(t, env, tok, tt.q)
			if d.Allow != tt.allow || !slices.Contains(codes(d), tt.code) {
				t.Errorf("got allow %v %v, want allow %v with %s", d.Allow, d.Reasons, tt.allow, tt.code)
			}
		})
	}

	d, _ := ask(t, env, tok, map[string]any{"user_id": f.anna.ID, "privilege": f.moms.URI, "level": "high"})
	if want := (reasonJSON{Code: rights.CodeGrantDirect, Message: "Assigned to the user.", GrantID: f.annaMoms.ID.String(), Source: rights.SourceDirect}); !d.Allow || len(d.Reasons) != 1 || d.Reasons[0] != want {
		t.Errorf("allow: got %+v, want exactly %+v", d, want)
	}
}

// TestDecisionsHideOtherOrganisationsUsers: a question the client may not
// ask is answered exactly like one about a user that does not exist.
func TestDecisionsHideOtherOrganisationsUsers(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	env := f.env
	stranger := env.token(t, f.other, "decisions")
	provider := env.token(t, f.provider, "decisions")

	_, unknown := ask(t, env, stranger, map[string]any{"user_id": uuid.New(), "privilege": f.moms.URI})
	for _, tt := range []struct {
		name, tok string
		q         map[string]any
	}{
		{"another company's user", stranger, map[string]any{"user_id": f.anna.ID, "privilege": f.moms.URI}},
		{"another company's user, a privilege it does not have", stranger, map[string]any{"user_id": f.anna.ID, "privilege": f.hemmelig.URI}},
		{"another company's user, an unknown privilege", stranger, map[string]any{"user_id": f.anna.ID, "privilege": "urn:dk:test:nothing"}},
		{"a provider, another provider's privilege", provider, map[string]any{"user_id": f.anna.ID, "privilege": f.løn.URI}},
		{"a provider, an unknown user", provider, map[string]any{"user_id": uuid.New(), "privilege": f.moms.URI}},
		{"the company itself, an unknown user", env.token(t, f.acme, "decisions"), map[string]any{"user_id": uuid.New(), "privilege": f.moms.URI}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, body := ask(t, env, tt.tok, tt.q); !bytes.Equal(body, unknown) {
				t.Errorf("got %s, want exactly the answer about an unknown user: %s", body, unknown)
			}
		})
	}

	// A service provider asks about anyone's use of its own privileges.
	if d, _ := ask(t, env, provider, map[string]any{"user_id": f.anna.ID, "privilege": f.moms.URI}); !d.Allow {
		t.Errorf("Skatteværket on Anna's moms: got %+v, want allowed", d)
	}
	if d, _ := ask(t, env, provider, map[string]any{"user_id": f.bent.ID, "privilege": f.moms.URI}); d.Allow || !slices.Contains(codes(d), rights.CodeGrantNone) {
		t.Errorf("Skatteværket on Bent's moms: got %+v, want grant.none", d)
	}
	if d, _ := ask(t, env, env.token(t, f.provider2, "decisions"), map[string]any{"user_id": f.bent.ID, "privilege": f.løn.URI}); !d.Allow {
		t.Errorf("Lønservice on Bent's løn: got %+v, want allowed", d)
	}
}

func TestDecisionBatch(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	env := f.env
	tok := env.token(t, f.acme, "decisions")
	q := func(user uuid.UUID, uri string) map[string]any {
		return map[string]any{"user_id": user, "privilege": uri}
	}

	var out struct {
		Decisions []decisionJSON `json:"decisions"`
	}
	env.decode(t, env.do(t, "POST", "/api/v1/decisions/batch", tok, map[string]any{"questions": []any{
		q(f.anna.ID, f.moms.URI), q(f.anna.ID, f.hemmelig.URI), q(f.bent.ID, f.løn.URI), q(f.anna.ID, f.løn.URI),
	}}, nil), http.StatusOK, &out)
	var got []string
	for _, d := range out.Decisions {
		got = append(got, fmt.Sprintf("%v:%s", d.Allow, d.Reasons[0].Code))
	}
	want := []string{"true:grant.direct", "false:grant.none", "false:identity.unknown", "true:grant.direct"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("batch: got %v, want %v (in order)", got, want)
	}

	hundred := make([]any, 100)
	for i := range hundred {
		hundred[i] = q(f.anna.ID, f.moms.URI)
	}
	env.decode(t, env.do(t, "POST", "/api/v1/decisions/batch", tok, map[string]any{"questions": hundred}, nil), http.StatusOK, &out)
	if len(out.Decisions) != 100 || !out.Decisions[99].Allow {
		t.Errorf("a batch of 100: got %d decisions, want 100 allowed", len(out.Decisions))
	}
	for _, tt := range []struct {
		name  string
		body  any
		field string
	}{
		{"101 questions", map[string]any{"questions": append(hundred, q(f.anna.ID, f.moms.URI))}, "/questions"},
		{"no questions", map[string]any{"questions": []any{}}, "/questions"},
		{"no questions at all", map[string]any{}, "/questions"},
		{"one bad question", map[string]any{"questions": []any{q(f.anna.ID, f.moms.URI),
			map[string]any{"user_id": f.anna.ID, "privilege": f.moms.URI, "level": "medium"}}}, "/questions/1/level"},
		{"an unknown field in a question", map[string]any{"questions": []any{q(f.anna.ID, f.moms.URI), map[string]any{"user": f.anna.ID}}}, "/questions/1/user"},
		{"a question of the wrong type", map[string]any{"questions": []any{"anna"}}, "/questions/0"},
		{"questions of the wrong type", map[string]any{"questions": "anna"}, "/questions"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := env.problemOf(t, env.do(t, "POST", "/api/v1/decisions/batch", tok, tt.body, nil), http.StatusBadRequest, "invalid")
			if len(p.Errors) == 0 || p.Errors[0].Field != tt.field {
				t.Errorf("errors: got %+v, want one on %s", p.Errors, tt.field)
			}
		})
	}
}

func TestDecisionRefusals(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	env := f.env
	tok := env.token(t, f.acme, "decisions")
	valid := func(change func(m map[string]any)) map[string]any {
		m := map[string]any{"user_id": f.anna.ID, "privilege": f.moms.URI}
		change(m)
		return m
	}
	tooMany := map[string]string{}
	for i := range 21 {
		tooMany[fmt.Sprintf("urn:dk:test:c%d", i)] = "1"
	}
	for _, tt := range []struct {
		name   string
		body   any
		hdr    http.Header
		token  string
		status int
		code   string
		field  string
	}{
		{"malformed JSON", `{"user_id": "`, nil, tok, 400, "invalid", ""},
		{"not an object", `[]`, nil, tok, 400, "invalid", ""},
		{"unknown field", valid(func(m map[string]any) { m["scopes"] = "cvr" }), nil, tok, 400, "invalid", "/scopes"},
		{"wrong type", valid(func(m map[string]any) { m["level"] = 3 }), nil, tok, 400, "invalid", "/level"},
		{"empty body", "", nil, tok, 400, "invalid", ""},
		{"oversized", `{"privilege": "` + strings.Repeat("x", 1<<20) + `"}`, nil, tok, 413, "too_large", ""},
		{"not JSON", "<question/>", http.Header{"Content-Type": {"application/xml"}}, tok, 415, "unsupported_media_type", ""},
		{"no user", valid(func(m map[string]any) { delete(m, "user_id") }), nil, tok, 400, "invalid", "/user_id"},
		{"malformed user id", valid(func(m map[string]any) { m["user_id"] = "anna" }), nil, tok, 400, "invalid", "/user_id"},
		{"no privilege", valid(func(m map[string]any) { m["privilege"] = " " }), nil, tok, 400, "invalid", "/privilege"},
		{"bad scope type", valid(func(m map[string]any) { m["scope"] = map[string]string{"type": "se", "value": "12345678"} }), nil, tok, 400, "invalid", "/scope/type"},
		{"bad P-number", valid(func(m map[string]any) { m["scope"] = map[string]string{"type": "pnumber", "value": "12"} }), nil, tok, 400, "invalid", "/scope/value"},
		{"unknown field in scope", valid(func(m map[string]any) {
			m["scope"] = map[string]string{"type": "cvr", "value": f.acme.CVR, "name": "x"}
		}), nil, tok, 400, "invalid", ""},
		{"bad level", valid(func(m map[string]any) { m["level"] = "medium" }), nil, tok, 400, "invalid", "/level"},
		{"bad moment", valid(func(m map[string]any) { m["at"] = "now" }), nil, tok, 400, "invalid", "/at"},
		{"empty constraint value", valid(func(m map[string]any) { m["constraints"] = map[string]string{domain.ConstraintKLE: ""} }), nil, tok, 400, "invalid", "/constraints/urn:dk:kombit:KLE"},
		{"too many constraints", valid(func(m map[string]any) { m["constraints"] = tooMany }), nil, tok, 400, "invalid", "/constraints"},
		{"missing scope", valid(func(map[string]any) {}), nil, env.token(t, f.acme, "rights:read", "users:write"), 403, "forbidden", ""},
		{"expired token", valid(func(map[string]any) {}), nil, expiredToken(t, env, f.acme, "decisions"), 401, "unauthenticated", ""},
		{"no token", valid(func(map[string]any) {}), nil, "", 401, "unauthenticated", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/api/v1/decisions", "/api/v1/decisions/batch"} {
				body := tt.body
				if m, ok := body.(map[string]any); ok && path != "/api/v1/decisions" {
					body = map[string]any{"questions": []any{m}}
				}
				p := env.problemOf(t, env.do(t, "POST", path, tt.token, body, tt.hdr), tt.status, tt.code)
				if tt.field == "" {
					continue
				}
				want := tt.field
				if path != "/api/v1/decisions" {
					want = "/questions/0" + tt.field
				}
				if len(p.Errors) == 0 || p.Errors[0].Field != want {
					t.Errorf("%s: errors: got %+v, want one on %s", path, p.Errors, want)
				}
			}
		})
	}
}

// expiredToken is an access token of a client of org, signed with the
// platform's key, that expired a second ago.
func expiredToken(t testing.TB, env *testEnv, org *domain.Organisation, scopes ...string) string {
	t.Helper()
	client, _ := env.registerClient(t, org, scopes...)
	signer, _, err := env.API.keys.signer()
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Second)
	raw, err := jwt.Signed(signer).Claims(accessClaims{Claims: jwt.Claims{Issuer: env.API.issuer(), Audience: jwt.Audience{env.API.audience()},
		Subject: client.ID.String(), IssuedAt: jwt.NewNumericDate(past.Add(-TokenLifetime)), Expiry: jwt.NewNumericDate(past)},
		ClientID: client.ID.String(), OrgID: org.ID.String(), Scope: strings.Join(scopes, " ")}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// benchDecisions is the API over the fixture with a warm rights cache and a
// client whose rate limit does not get in the way.
func benchDecisions(b *testing.B) (http.Handler, *testEnv, string, []byte) {
	b.Helper()
	f := newRightsFixture(b)
	env := f.env
	// The harness's rights service caches nothing (nothing listens); the
	// fixture never changes behind this one's back.
	env.API.opts.Runtime = rights.NewServiceWithOptions(rightsPolicy, postgres.NewRightsStore(env.DB), rights.Options{CacheUnlistened: true})
	client, secret, err := env.Clients.Register(context.Background(), postgres.Actor{Label: "bench"},
		postgres.NewAPIClient{OrgID: f.acme.ID, Name: "bench", Scopes: []string{"decisions"}, AuthMethod: domain.APIAuthSecret, RateLimit: 100_000})
	if err != nil {
		b.Fatal(err)
	}
	tok := env.tokenFor(b, client.ID.String(), secret)
	body, _ := json.Marshal(map[string]any{"user_id": f.bo.ID, "privilege": f.sag.URI, "level": "substantial",
		"scope": map[string]string{"type": "pnumber", "value": f.unit.PNumber}, "constraints": map[string]string{domain.ConstraintKLE: "25.02.01"}})
	h := server.New(server.Options{Logger: slog.New(slog.DiscardHandler)}, env.API.Mount).Handler()
	return h, env, tok, body
}

func serveDecision(b *testing.B, h http.Handler, tok string, body []byte) {
	req := httptest.NewRequest(http.MethodPost, "/api/v1/decisions", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), []byte(`"allow":true`)) {
		b.Fatalf("got %d %s, want an allow", w.Code, w.Body)
	}
}

// BenchmarkDecisionEndpoint is what one POST /api/v1/decisions costs the
// server, without the network: the whole middleware chain (request id,
// bearer token from the verified-token cache, rate limit, policy memo), the
// directory, a decision from a warm rights cache (Bo's sag through his
// group, at a P-number of his CVR, with a KLE value) and the JSON answer.
// "serial" reports p50/p99 of single requests; "parallel" the throughput of
// as many goroutines as cores.
func BenchmarkDecisionEndpoint(b *testing.B) {
	h, _, tok, body := benchDecisions(b)
	serveDecision(b, h, tok, body) // warm: token, client, memo, directory, identity
	b.Run("serial", func(b *testing.B) {
		durations := make([]time.Duration, 0, 1<<16)
		b.ReportAllocs()
		for b.Loop() {
			start := time.Now()
			serveDecision(b, h, tok, body)
			durations = append(durations, time.Since(start))
		}
		slices.Sort(durations)
		at := func(p float64) float64 { return float64(durations[int(p*float64(len(durations)-1))].Nanoseconds()) }
		b.ReportMetric(at(0.50), "p50-ns")
		b.ReportMetric(at(0.99), "p99-ns")
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				serveDecision(b, h, tok, body)
			}
		})
	})
}

// BenchmarkDecisionHTTP is the same over real HTTP on the loopback, with
// keep-alive connections and 16 concurrent clients in the same process:
// closer to the load test, though the clients share the cores.
func BenchmarkDecisionHTTP(b *testing.B) {
	_, env, tok, body := benchDecisions(b)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.Cleanup(hc.CloseIdleConnections)
	b.SetParallelism(8)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, env.URL+"/api/v1/decisions", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

// countingStore is a directoryStore that counts its queries.
type countingStore struct {
	orgs      map[uuid.UUID]uuid.UUID
	providers map[string]uuid.UUID
	queries   int
}

func (s *countingStore) OrgOfUser(_ context.Context, id uuid.UUID) (uuid.UUID, string, error) {
	s.queries++
	org, ok := s.orgs[id]
	if !ok {
		return uuid.Nil, "", domain.Errorf(domain.ENOTFOUND, "no such user")
	}
	return org, domain.UserActive, nil
}

func (s *countingStore) PrivilegeProviders(_ context.Context, uris []string) (map[string]uuid.UUID, error) {
	s.queries++
	out := map[string]uuid.UUID{}
	for _, u := range uris {
		if org, ok := s.providers[u]; ok {
			out[u] = org
		}
	}
	return out, nil
}

func TestDirectoryRemembersWhatNeverChanges(t *testing.T) {
	t.Parallel()
	user, org, provider := uuid.New(), uuid.New(), uuid.New()
	store := &countingStore{orgs: map[uuid.UUID]uuid.UUID{user: org}, providers: map[string]uuid.UUID{"urn:x:a": provider}}
	now := time.Now()
	d := newDirectory(store, func() time.Time { return now })
	ctx := context.Background()
	for range 3 {
		if got, err := d.userOrg(ctx, user); err != nil || got != org {
			t.Fatalf("userOrg: got %v, %v, want %v", got, err, org)
		}
		if got, err := d.provider(ctx, "urn:x:a"); err != nil || got != provider {
			t.Fatalf("provider: got %v, %v, want %v", got, err, provider)
		}
	}
	if store.queries != 2 {
		t.Errorf("known user and URI asked three times: got %d queries, want 2", store.queries)
	}
	// The unknown are asked about every time: they may appear any moment.
	for range 2 {
		if got, _ := d.userOrg(ctx, uuid.New()); got != uuid.Nil {
			t.Errorf("unknown user: got %v, want uuid.Nil", got)
		}
		if got, _ := d.provider(ctx, "urn:x:unknown"); got != uuid.Nil {
			t.Errorf("unknown URI: got %v, want uuid.Nil", got)
		}
	}
	if store.queries != 6 {
		t.Errorf("after two unknown pairs: got %d queries, want 6", store.queries)
	}
	// A provider is read again after providerTTL; a user's organisation never.
	now = now.Add(providerTTL)
	_, _ = d.provider(ctx, "urn:x:a")
	_, _ = d.userOrg(ctx, user)
	if store.queries != 7 {
		t.Errorf("after providerTTL: got %d queries, want 7", store.queries)
	}
	// Many URIs at once: one query for those not remembered.
	got, err := d.providersOf(ctx, []string{"urn:x:a", "urn:x:unknown", "urn:x:a"})
	if err != nil || len(got) != 1 || got["urn:x:a"] != provider || store.queries != 8 {
		t.Errorf("providersOf: got %v, %v after %d queries, want only urn:x:a after 8", got, err, store.queries)
	}
}
