package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCookieSealer(t *testing.T) {
	t.Parallel()
	s, err := newCookieSealer()
	if err != nil {
		t.Fatal(err)
	}
	flow := newLoginFlow(loaSubstantial, time.Now())
	value, err := s.seal(loginCookie, flow)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(value, flow.State) || strings.Contains(value, flow.Verifier) {
		t.Error("sealed value shows the state or verifier in clear")
	}
	var got loginFlow
	if err := s.open(loginCookie, value, &got); err != nil || got != flow {
		t.Fatalf("open: got %+v, %v; want %+v", got, err, flow)
	}

	other, _ := newCookieSealer()
	tampered := []byte(value)
	tampered[len(tampered)/2] ^= 1
	for name, open := range map[string]func() error{
		"tampered":        func() error { return s.open(loginCookie, string(tampered), &got) },
		"truncated":       func() error { return s.open(loginCookie, value[:len(value)-4], &got) },
		"not base64":      func() error { return s.open(loginCookie, "***", &got) },
		"empty":           func() error { return s.open(loginCookie, "", &got) },
		"other cookie":    func() error { return s.open(sessionCookie, value, &got) },
		"other key":       func() error { return other.open(loginCookie, value, &got) },
		"sealed not JSON": func() error { v, _ := s.seal(loginCookie, "x"); return s.open(loginCookie, v, &got) },
	} {
		if err := open(); !errors.Is(err, errLoginFlow) {
			t.Errorf("%s: got %v, want errLoginFlow", name, err)
		}
	}
}

func TestNewLoginFlow(t *testing.T) {
	t.Parallel()
	a, b := newLoginFlow("", time.Now()), newLoginFlow("", time.Now())
	if a.State == b.State || a.Nonce == b.Nonce || a.Verifier == b.Verifier || a.State == a.Nonce {
		t.Errorf("flows share random values: %+v, %+v", a, b)
	}
	if n := len(a.Verifier); n < 43 || n > 128 {
		t.Errorf("verifier length: got %d, want 43 to 128 (RFC 7636)", n)
	}
}

// tamper changes one character in the middle of a cookie value.
func tamper(v string) string {
	b := []byte(v)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// loginCookieFor seals flow the way /login does and returns the cookie.
func loginCookieFor(t *testing.T, sp *SP, flow loginFlow) *http.Cookie {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := sp.saveLoginFlow(rec, flow); err != nil {
		t.Fatal(err)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == loginCookie {
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.MaxAge <= 0 || c.MaxAge > 600 {
				t.Errorf("login cookie: got %+v, want HttpOnly, SameSite=Lax, short-lived", c)
			}
			return c
		}
	}
	t.Fatal("no login cookie set")
	return nil
}

func TestTakeLoginFlow(t *testing.T) {
	t.Parallel()
	sp := newTestSP(t, "http://127.0.0.1:1")
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	sp.now = func() time.Time { return now }
	flow := newLoginFlow("", now)
	good := loginCookieFor(t, sp, flow)

	take := func(c *http.Cookie) (loginFlow, *httptest.ResponseRecorder, error) {
		r := httptest.NewRequest(http.MethodGet, "/callback", nil)
		if c != nil {
			r.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		got, err := sp.takeLoginFlow(rec, r)
		return got, rec, err
	}
	got, rec, err := take(good)
	if err != nil || got != flow {
		t.Fatalf("good cookie: got %+v, %v; want %+v", got, err, flow)
	}
	if c := rec.Result().Cookies(); len(c) != 1 || c[0].Name != loginCookie || c[0].MaxAge != -1 {
		t.Errorf("cookie after use: got %+v, want it deleted", c)
	}

	if _, _, err := take(nil); !errors.Is(err, errLoginFlow) {
		t.Errorf("missing cookie: got %v, want errLoginFlow", err)
	}
	bad := *good
	bad.Value = tamper(bad.Value)
	if _, _, err := take(&bad); !errors.Is(err, errLoginFlow) {
		t.Errorf("tampered cookie: got %v, want errLoginFlow", err)
	}
	now = now.Add(loginTTL + time.Second)
	if _, _, err := take(good); !errors.Is(err, errLoginFlow) {
		t.Errorf("expired cookie: got %v, want errLoginFlow", err)
	}
}

// TestCallbackRefusesBadState: the callback must not go on without the
// login cookie and a state equal to the one in it. The issuer is
// unreachable: the checks come before any call to the platform.
func TestCallbackRefusesBadState(t *testing.T) {
	t.Parallel()
	sp := newTestSP(t, "http://127.0.0.1:1")
	flow := newLoginFlow("", time.Now())
	good := loginCookieFor(t, sp, flow)
	tampered := *good
	tampered.Value = tamper(tampered.Value)

	cases := []struct {
		name   string
		query  string
		cookie *http.Cookie
		want   string
	}{
		{"no state, no cookie", "?code=abc", nil, "Login-forløbet kunne ikke genkendes"},
		{"no cookie", "?code=abc&state=" + flow.State, nil, "Login-forløbet kunne ikke genkendes"},
		{"tampered cookie", "?code=abc&state=" + flow.State, &tampered, "Login-forløbet kunne ikke genkendes"},
		{"no state", "?code=abc", good, "Ugyldig state"},
		{"empty state", "?code=abc&state=", good, "Ugyldig state"},
		{"other state", "?code=abc&state=" + newLoginFlow("", time.Now()).State, good, "Ugyldig state"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/callback"+tc.query, nil)
			if tc.cookie != nil {
				r.AddCookie(tc.cookie)
			}
			rec := httptest.NewRecorder()
			sp.Handler().ServeHTTP(rec, r)
			if rec.Code != http.StatusBadRequest {
				t.Errorf("status: got %d, want 400", rec.Code)
			}
			if body := rec.Body.String(); !strings.Contains(body, tc.want) || !strings.Contains(body, `data-testid="error"`) {
				t.Errorf("body: want the error page saying %q; got %s", tc.want, body)
			}
		})
	}
}

func TestSessionStore(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	st := newSessionStore(func() time.Time { return now })
	a := st.create(&session{rawIDToken: "a"})
	b := st.create(&session{rawIDToken: "b"})
	if a == b || len(a) < 26 {
		t.Fatalf("ids: got %q and %q, want two different random ids", a, b)
	}
	if s, ok := st.get(a); !ok || s.rawIDToken != "a" {
		t.Errorf("get a: got %+v, %v", s, ok)
	}
	if _, ok := st.get("unknown"); ok {
		t.Error("unknown id: got a session")
	}
	st.delete(a)
	if _, ok := st.get(a); ok {
		t.Error("deleted session still there")
	}
	now = now.Add(sessionTTL + time.Second)
	if _, ok := st.get(b); ok {
		t.Error("expired session still there")
	}
	st.create(&session{})
	if len(st.m) != 1 {
		t.Errorf("sessions after expiry: got %d, want 1", len(st.m))
	}
}
