package api

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/server"
)

// Client is the API client a request is authenticated as, with the scopes
// of its token.
type Client struct {
	ID        uuid.UUID
	OrgID     uuid.UUID
	Name      string
	Scopes    []string
	RateLimit int
}

const clientKey = "erhverv.api.client"

// ClientOf returns the request's authenticated client (nil outside the
// authenticated routes).
func ClientOf(c *gin.Context) *Client {
	v, _ := c.Get(clientKey)
	cl, _ := v.(*Client)
	return cl
}

// actor is the audit log's "who" for a change an API client makes.
func (a *API) actor(c *gin.Context) postgres.Actor {
	cl := ClientOf(c)
	return postgres.Actor{UserID: cl.ID, Label: "API client " + cl.Name, RequestID: server.RequestID(c), Address: c.ClientIP(), Client: true}
}

// authorize asks the API policy whether the request's client may do action
// on res, and answers 403 with the policy's reasons when not.
func (a *API) authorize(c *gin.Context, action string, res Resource) bool {
	d, err := a.policy.Decide(c.Request.Context(), ClientOf(c), action, res)
	if err != nil {
		a.problem(c, err)
		return false
	}
	if d.Allow {
		return true
	}
	msgs := make([]string, len(d.Reasons))
	for i, r := range d.Reasons {
		msgs[i] = r.Message
	}
	a.problemf(c, http.StatusForbidden, domain.EFORBIDDEN, strings.Join(msgs, " "))
	return false
}

// authenticate is the bearer check of every /api/v1 and /scim/v2 request: a
// valid access token of this issuer, for a client that is not revoked, within
// the client's rate limit.
func (a *API) authenticate(c *gin.Context) {
	raw, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if !ok || raw == "" {
		a.unauthenticated(c, "", "Send an access token from "+TokenPath+" as Authorization: Bearer <token>.")
		return
	}
	claims, err := a.verify(raw)
	if err != nil {
		a.unauthenticated(c, "invalid_token", "The access token is not valid or has expired; get a new one from "+TokenPath+".")
		return
	}
	id, _ := uuid.Parse(claims.ClientID)
	client, err := a.clients.Get(c.Request.Context(), id)
	if err != nil || !client.Active() || client.OrgID.String() != claims.OrgID {
		a.unauthenticated(c, "invalid_token", "The client of this token is revoked or unknown.")
		return
	}
	if ok, wait := a.limits.allow(client.ID, client.RateLimit, a.now()); !ok {
		c.Header("Retry-After", retryAfter(wait))
		a.problemf(c, http.StatusTooManyRequests, CodeRateLimited,
			"The client sends more requests than its rate limit allows; wait the seconds in Retry-After.")
		return
	}
	// The token's scopes, less any the client no longer has.
	var scopes []string
	for _, s := range strings.Fields(claims.Scope) {
		if client.HasScope(s) {
			scopes = append(scopes, s)
		}
	}
	c.Set(clientKey, &Client{ID: client.ID, OrgID: client.OrgID, Name: client.Name, Scopes: scopes, RateLimit: client.RateLimit})
	a.touch(client.ID, a.now())
	c.Next()
}

func (a *API) unauthenticated(c *gin.Context, errCode, detail string) {
	h := `Bearer realm="erhverv"`
	if errCode != "" {
		h += `, error="` + errCode + `"`
	}
	c.Header("WWW-Authenticate", h)
	a.problemf(c, http.StatusUnauthorized, domain.EUNAUTHENTICATED, detail)
}

// verify checks an access token's signature, issuer, audience and lifetime.
// Verified tokens are remembered until they expire: ES256 verification costs
// more than the rest of a decision request.
func (a *API) verify(raw string) (*accessClaims, error) {
	now := a.now()
	if claims, ok := a.tokens.get(raw, now); ok {
		return claims, nil
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil || len(tok.Headers) != 1 {
		return nil, errInvalidToken
	}
	key, ok := a.keys.public(tok.Headers[0].KeyID)
	if !ok {
		return nil, errInvalidToken
	}
	var claims accessClaims
	if err := tok.Claims(key, &claims); err != nil {
		return nil, errInvalidToken
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{Issuer: a.issuer(), AnyAudience: jwt.Audience{a.audience()}, Time: now}, 0); err != nil {
		return nil, errInvalidToken
	}
	if claims.Expiry == nil || claims.ClientID == "" {
		return nil, errInvalidToken
	}
	a.tokens.put(raw, &claims)
	return &claims, nil
}

var errInvalidToken = &domain.Error{Code: domain.EUNAUTHENTICATED, Message: "invalid token"}

// tokenCache remembers verified tokens until they expire.
type tokenCache struct {
	mu     sync.RWMutex
	tokens map[string]*accessClaims
}

const maxCachedTokens = 100_000

func newTokenCache() *tokenCache { return &tokenCache{tokens: map[string]*accessClaims{}} }

func (t *tokenCache) get(raw string, now time.Time) (*accessClaims, bool) {
	t.mu.RLock()
	c, ok := t.tokens[raw]
	t.mu.RUnlock()
	if !ok || !now.Before(c.Expiry.Time()) {
		return nil, false
	}
	return c, true
}

func (t *tokenCache) put(raw string, c *accessClaims) {
	t.mu.Lock()
	if len(t.tokens) >= maxCachedTokens {
		t.tokens = map[string]*accessClaims{} // bounded: start again
	}
	t.tokens[raw] = c
	t.mu.Unlock()
}

// clientTTL bounds how long a revoked client's tokens still work on
// another replica: clients (with their credentials) are cached this long, so
// a busy client costs no query per request. The revoking replica forgets the
// client at once (the revocation listener drops it).
const clientTTL = 5 * time.Second

// touch records a client's last use, at most once a minute per client and
// off the request's path.
func (a *API) touch(id uuid.UUID, now time.Time) {
	if !a.touched.Due(id, now) {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.opts.Clients.TouchLastUsed(ctx, id, now.UTC()); err != nil {
			a.log.Warn("record api client use", "client_id", id.String(), "error", err.Error())
		}
	}()
}
