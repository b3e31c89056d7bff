package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Cookies of the service. All are HttpOnly and SameSite=Lax: Lax lets them
// ride along on the top-level redirects back from the platform, and keeps
// them off cross-site POSTs (so POST /logout needs no CSRF token).
const (
	loginCookie   = "demo_sp_login"   // the sealed loginFlow, during a login
	sessionCookie = "demo_sp_session" // the random id of a server-side session
	logoutCookie  = "demo_sp_logout"  // the state of an RP-initiated logout

	loginTTL   = 10 * time.Minute
	sessionTTL = 8 * time.Hour
)

// loginFlow is what the browser must bring back to /callback: the values
// that tie the authorization response to the browser that started it.
type loginFlow struct {
	State    string `json:"state"`         // checked against the state parameter (CSRF)
	Nonce    string `json:"nonce"`         // checked against the ID token's nonce (replay)
	Verifier string `json:"verifier"`      // the PKCE code verifier, sent with the code
	ACR      string `json:"acr,omitempty"` // the level asked for with acr_values
	Expires  int64  `json:"exp"`           // unix seconds
}

// newLoginFlow makes fresh random values for one login.
func newLoginFlow(acr string, now time.Time) loginFlow {
	return loginFlow{
		State:    rand.Text(),
		Nonce:    rand.Text(),
		Verifier: rand.Text() + rand.Text(), // 52 characters: RFC 7636 wants 43 to 128
		ACR:      acr,
		Expires:  now.Add(loginTTL).Unix(),
	}
}

// errLoginFlow is a missing, tampered or expired login cookie.
var errLoginFlow = errors.New("login cookie missing, invalid or expired")

// cookieSealer encrypts and authenticates cookie values with AES-GCM under
// a random key made at start: the browser can neither read nor change them.
// A restart makes logins in progress fail, which is fine for a demo.
type cookieSealer struct{ aead cipher.AEAD }

func newCookieSealer() (*cookieSealer, error) {
	block, err := aes.NewCipher(randomKey())
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, err
	}
	return &cookieSealer{aead}, nil
}

// seal encrypts v for the cookie name; the name is authenticated too, so a
// value cannot be moved to another cookie.
func (s *cookieSealer) seal(name string, v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nil, nil, plain, []byte(name))), nil
}

// open decrypts a value sealed for the cookie name into v.
func (s *cookieSealer) open(name, value string, v any) error {
	sealed, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return errLoginFlow
	}
	plain, err := s.aead.Open(nil, nil, sealed, []byte(name))
	if err != nil {
		return errLoginFlow
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return fmt.Errorf("%w: %v", errLoginFlow, err)
	}
	return nil
}

// randomKey is 32 random bytes, an AES-256 key.
func randomKey() []byte {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // never fails (crypto/rand, Go 1.24 and later)
	return key
}

// saveLoginFlow puts the flow in the login cookie.
func (sp *SP) saveLoginFlow(w http.ResponseWriter, flow loginFlow) error {
	value, err := sp.sealer.seal(loginCookie, flow)
	if err != nil {
		return err
	}
	sp.setCookie(w, loginCookie, value, loginTTL)
	return nil
}

// takeLoginFlow reads the login cookie and deletes it: a flow is used once,
// whatever the outcome.
func (sp *SP) takeLoginFlow(w http.ResponseWriter, r *http.Request) (loginFlow, error) {
	c, err := r.Cookie(loginCookie)
	if err != nil {
		return loginFlow{}, errLoginFlow
	}
	sp.setCookie(w, loginCookie, "", -1)
	var flow loginFlow
	if err := sp.sealer.open(loginCookie, c.Value, &flow); err != nil {
		return loginFlow{}, err
	}
	if flow.State == "" || sp.now().Unix() > flow.Expires {
		return loginFlow{}, errLoginFlow
	}
	return flow, nil
}

// sameSecret compares two secrets in constant time; empty never matches.
func sameSecret(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// setCookie sets an HttpOnly, SameSite=Lax cookie; a negative maxAge
// deletes it. The cookie is Secure when the service runs on https.
func (sp *SP) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	c := &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   sp.secureCookies,
		SameSite: http.SameSiteLaxMode,
		MaxAge:   int(maxAge.Seconds()),
	}
	if maxAge < 0 {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// session is one logged-in browser. It lives in memory only: the demo needs
// no database, and a restart logs everybody out.
type session struct {
	Login      loginView
	UserInfo   userinfoView
	RequestACR string // the level asked for, if any
	rawIDToken string // for id_token_hint at logout; never shown or logged
	expires    time.Time
}

// sessionStore keeps sessions by a random id.
type sessionStore struct {
	mu  sync.Mutex
	now func() time.Time
	m   map[string]*session
}

func newSessionStore(now func() time.Time) *sessionStore {
	return &sessionStore{now: now, m: make(map[string]*session)}
}

// create stores s under a new random id and returns the id. Expired
// sessions are dropped on the way.
func (st *sessionStore) create(s *session) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	now := st.now()
	for id, old := range st.m {
		if now.After(old.expires) {
			delete(st.m, id)
		}
	}
	s.expires = now.Add(sessionTTL)
	id := rand.Text()
	st.m[id] = s
	return id
}

// get returns the live session with the id, if any.
func (st *sessionStore) get(id string) (*session, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.m[id]
	if !ok || st.now().After(s.expires) {
		delete(st.m, id)
		return nil, false
	}
	return s, true
}

// delete ends the session with the id.
func (st *sessionStore) delete(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.m, id)
}
