package login

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/gob"
	"errors"
	"net/http"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// SessionCookie is the name of the login session's cookie.
const SessionCookie = "erhverv_session"

// Account is the signed-in person as the session remembers them: who the
// broker said logged in, how strongly, and which business identity they act
// as. It holds no CPR number, only its keyed hash.
type Account struct {
	Issuer     string
	Subject    string
	Name       string
	CPRHash    []byte // pii.Protector.Hash of the CPR; nil when the broker gave none
	BirthDate  string
	Level      Level
	AMR        []string
	Represents []string // CVR numbers the person may represent (broker and register)
	LoggedInAt time.Time

	// The business identity chosen for this session; zero until chosen.
	UserID uuid.UUID
	OrgID  uuid.UUID
}

// Acting reports whether a business identity has been chosen.
func (a Account) Acting() bool { return a.UserID != uuid.Nil }

// Attempt is one login in flight: what was sent to the broker and what the
// callback must find again. It lives in the session, keyed by its state.
type Attempt struct {
	State    string
	Nonce    string
	Verifier string // PKCE code verifier
	Level    Level  // the level asked for
	Purpose  string
	ReturnTo string
	Started  time.Time
	// Prompt, when set, is sent to the broker as OIDC's prompt ("login":
	// authenticate again even with a session there). Not remembered.
	Prompt string
}

// attemptTTL bounds how long a login may take at the broker.
const attemptTTL = 15 * time.Minute

// maxAttempts bounds the logins in flight of one session (several tabs).
const maxAttempts = 5

func init() {
	gob.Register(Account{})
	gob.Register(map[string]Attempt{})
}

const (
	keyAccount  = "account"
	keyAttempts = "attempts"
)

// SessionOptions configure Sessions.
type SessionOptions struct {
	IdleTimeout time.Duration
	Lifetime    time.Duration
	Secure      bool // the cookie's Secure attribute: true whenever the base URL is https
}

// Sessions keeps login sessions in PostgreSQL's sessions table through scs,
// so any replica can serve any request.
type Sessions struct {
	sm       *scs.SessionManager
	lifetime time.Duration
	now      func() time.Time
	stop     chan struct{}
	stopped  chan struct{}
}

// sweepInterval is how often expired sessions are deleted.
const sweepInterval = 5 * time.Minute

// NewSessions returns the session store. Close stops its expiry sweeper.
func NewSessions(pool *pgxpool.Pool, opts SessionOptions) *Sessions {
	// pgxstore's own sweeper starts racily (its stop channel is set from
	// the sweeping goroutine), so the store runs without it and Sessions
	// sweeps itself.
	store := pgxstore.NewWithCleanupInterval(pool, 0)
	sm := scs.New()
	sm.Store = store
	sm.IdleTimeout = opts.IdleTimeout
	sm.Lifetime = opts.Lifetime
	sm.Cookie.Name = SessionCookie
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode // the broker's redirect back is a top-level GET
	sm.Cookie.Secure = opts.Secure
	sm.Cookie.Path = "/"
	sm.Cookie.Persist = false // a browser session cookie; the server enforces the timeouts
	s := &Sessions{sm: sm, lifetime: opts.Lifetime, now: time.Now, stop: make(chan struct{}), stopped: make(chan struct{})}
	go s.sweep(pool)
	return s
}

func (s *Sessions) sweep(pool *pgxpool.Pool) {
	defer close(s.stopped)
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_, _ = pool.Exec(ctx, "DELETE FROM sessions WHERE expiry < now()") // the next sweep retries
			cancel()
		}
	}
}

// Close stops the background sweep of expired sessions.
func (s *Sessions) Close() {
	close(s.stop)
	<-s.stopped
}

// Middleware loads the session before the handler runs and saves it before
// the first byte of the response is written (cookies are headers).
func (s *Sessions) Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		var token string
		if ck, err := c.Request.Cookie(s.sm.Cookie.Name); err == nil {
			token = ck.Value
		}
		ctx, err := s.sm.Load(c.Request.Context(), token)
		if err != nil {
			_ = c.Error(err)
			c.AbortWithStatus(http.StatusInternalServerError)
			return
		}
		c.Request = c.Request.WithContext(ctx)
		w := &committingWriter{ResponseWriter: c.Writer, commit: func() { s.commit(c) }}
		c.Writer = w
		c.Next()
		w.commitOnce()
	}
}

func (s *Sessions) commit(c *gin.Context) {
	ctx := c.Request.Context()
	switch s.sm.Status(ctx) {
	case scs.Modified:
		token, expiry, err := s.sm.Commit(ctx)
		if err != nil {
			// The response is already decided; the person will simply find
			// themselves signed out on the next request.
			_ = c.Error(err)
			return
		}
		s.sm.WriteSessionCookie(ctx, c.Writer, token, expiry)
	case scs.Destroyed:
		s.sm.WriteSessionCookie(ctx, c.Writer, "", time.Time{})
	}
}

// committingWriter saves the session just before the response starts.
type committingWriter struct {
	gin.ResponseWriter
	commit func()
	done   bool
}

func (w *committingWriter) commitOnce() {
	if !w.done {
		w.done = true
		w.commit()
	}
}

func (w *committingWriter) WriteHeaderNow() { w.commitOnce(); w.ResponseWriter.WriteHeaderNow() }
func (w *committingWriter) Write(b []byte) (int, error) {
	w.commitOnce()
	return w.ResponseWriter.Write(b)
}
func (w *committingWriter) WriteString(s string) (int, error) {
	w.commitOnce()
	return w.ResponseWriter.WriteString(s)
}
func (w *committingWriter) Flush() { w.commitOnce(); w.ResponseWriter.Flush() }

// Account returns the signed-in account; ok is false for an anonymous
// visitor and for a session past its absolute lifetime (which is ended).
func (s *Sessions) Account(ctx context.Context) (Account, bool) {
	a, ok := s.sm.Get(ctx, keyAccount).(Account)
	if !ok {
		return Account{}, false
	}
	if s.now().Sub(a.LoggedInAt) > s.lifetime {
		_ = s.sm.Destroy(ctx)
		return Account{}, false
	}
	return a, true
}

// SignIn starts the account's session under a new session id, so an id
// planted before login is worthless afterwards.
func (s *Sessions) SignIn(ctx context.Context, a Account) error {
	if err := s.sm.RenewToken(ctx); err != nil {
		return err
	}
	s.sm.Remove(ctx, keyAttempts)
	s.sm.Put(ctx, keyAccount, a)
	return nil
}

// Update stores a changed account (the chosen identity) in the session.
func (s *Sessions) Update(ctx context.Context, a Account) error {
	if _, ok := s.sm.Get(ctx, keyAccount).(Account); !ok {
		return errors.New("no signed-in account to update")
	}
	s.sm.Put(ctx, keyAccount, a)
	return nil
}

// SignOut ends the session in the database and in the browser.
func (s *Sessions) SignOut(ctx context.Context) error { return s.sm.Destroy(ctx) }

// NewAttempt records a login about to be sent to the broker.
func (s *Sessions) NewAttempt(ctx context.Context, level Level, purpose, returnTo string) (Attempt, error) {
	a := Attempt{Level: level, Purpose: purpose, ReturnTo: returnTo, Started: s.now()}
	for _, f := range []*string{&a.State, &a.Nonce, &a.Verifier} {
		v, err := randomString(32)
		if err != nil {
			return Attempt{}, err
		}
		*f = v
	}
	attempts, _ := s.sm.Get(ctx, keyAttempts).(map[string]Attempt)
	fresh := make(map[string]Attempt, len(attempts)+1)
	for k, v := range attempts {
		if s.now().Sub(v.Started) < attemptTTL {
			fresh[k] = v
		}
	}
	for len(fresh) >= maxAttempts { // drop the oldest
		var oldest string
		for k, v := range fresh {
			if oldest == "" || v.Started.Before(fresh[oldest].Started) {
				oldest = k
			}
		}
		delete(fresh, oldest)
	}
	fresh[a.State] = a
	s.sm.Put(ctx, keyAttempts, fresh)
	return a, nil
}

// TakeAttempt returns and forgets the login in flight with this state. A
// state that is unknown, already used or too old is not found.
func (s *Sessions) TakeAttempt(ctx context.Context, state string) (Attempt, bool) {
	attempts, _ := s.sm.Get(ctx, keyAttempts).(map[string]Attempt)
	a, ok := attempts[state]
	if !ok || state == "" {
		return Attempt{}, false
	}
	delete(attempts, state)
	s.sm.Put(ctx, keyAttempts, attempts)
	if s.now().Sub(a.Started) >= attemptTTL {
		return Attempt{}, false
	}
	return a, true
}

func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
