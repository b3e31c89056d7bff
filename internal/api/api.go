// Package api is the integrators' side of erhverv: the REST API under
// /api/v1, SCIM 2.0 under /scim/v2 (package scim), and the OAuth 2.0
// authorization server that gives API clients their access tokens.
//
// Every request is authenticated with a short-lived ES256 access token
// (client credentials), limited to the client's rate, and authorized by the
// API policy (policy/api) from the token's scopes and the resource's
// organisation. Errors are RFC 9457 problem documents; lists are cursor
// pages; versioned resources carry ETags and honour If-Match; creates honour
// Idempotency-Key. The OpenAPI 3.1 document at /api/v1/openapi.json is
// merged from the fragments in openapi/, one per area, and tests check that
// routes and document agree.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/api/scim"
	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/rights"
	"github.com/erhverv/erhverv/internal/ttlcache"
)

// Options are the API's dependencies, wired by cmd/erhverv.
type Options struct {
	Logger  *slog.Logger
	BaseURL *url.URL
	DB      *postgres.DB
	// PolicyDir is the operator's extra policy directory (authz.Options.ExtraDir).
	PolicyDir string

	Clients     *postgres.APIClients
	Keys        *postgres.SigningKeys
	Idempotency *postgres.Idempotency
	Admin       *postgres.Administration
	Users       *postgres.UserService
	Groups      *postgres.GroupService
	Roles       *postgres.AdminRoleService
	Rights      *postgres.RightsService
	Orgs        *postgres.OrganisationService
	Audit       *postgres.AuditLog
	Runtime     *rights.Service
	Feed        *postgres.ChangeFeed
	Webhooks    *postgres.Webhooks

	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// API serves the integrators.
type API struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	policy  *Policy
	keys    *keyRing
	clients *ttlcache.Cache[uuid.UUID, *domain.APIClient]
	tokens  *tokenCache
	limits  *limiters
	doc     []byte

	codeGrant http.Handler // the OpenID Provider's authorization_code grant

	touched *ttlcache.Every[uuid.UUID] // last-used writes, once a minute per client
}

// New prepares the API: it loads the policy and the OpenAPI document, and
// the signing keys (creating the first on a new installation).
func New(ctx context.Context, opts Options) (*API, error) {
	if opts.BaseURL == nil || opts.DB == nil || opts.Clients == nil || opts.Keys == nil || opts.Idempotency == nil {
		return nil, errors.New("api: BaseURL, DB, Clients, Keys and Idempotency are needed")
	}
	a := &API{opts: opts, log: opts.Logger, now: opts.Now, tokens: newTokenCache(), limits: newLimiters(), touched: ttlcache.NewEvery[uuid.UUID](time.Minute)}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.now == nil {
		a.now = time.Now
	}
	var err error
	if a.policy, err = NewPolicy(ctx, authz.Options{ExtraDir: opts.PolicyDir}); err != nil {
		return nil, err
	}
	if a.doc, err = DocumentJSON(); err != nil {
		return nil, err
	}
	clock := func() time.Time { return a.now() } // tests move a.now
	a.keys = newKeyRing(opts.Keys, clock)
	// Without keys (a schema not migrated yet, the database away) the server
	// still starts and says so on /readyz; Run keeps trying.
	if err := a.keys.init(ctx); err != nil {
		a.log.Warn("token signing keys unavailable; tokens cannot be issued until they load", "error", err.Error())
	}
	a.clients = ttlcache.New(clientTTL, clock, opts.Clients.FindForAuth)
	return a, nil
}

// Ready reports whether the API can issue tokens (a signing key is
// loaded), for /readyz.
func (a *API) Ready(ctx context.Context) error { return a.keys.ready(ctx) }

// Run keeps the replica's view current until ctx ends: it reloads the
// signing keys (rotation) and forgets revoked clients as soon as PostgreSQL
// announces them.
func (a *API) Run(ctx context.Context) {
	go a.keys.refresh(ctx, func(err error) { a.log.Error("reload token signing keys", "error", err.Error()) })
	a.listenRevocations(ctx)
}

// listenRevocations drops revoked clients from the cache when the
// revocation commits (Revoke notifies erhverv_api_clients).
func (a *API) listenRevocations(ctx context.Context) {
	for ctx.Err() == nil {
		err := func() error {
			conn, err := a.opts.DB.Pool().Acquire(ctx)
			if err != nil {
				return err
			}
			defer conn.Release()
			if _, err := conn.Exec(ctx, "LISTEN erhverv_api_clients"); err != nil {
				return err
			}
			for {
				n, err := conn.Conn().WaitForNotification(ctx)
				if err != nil {
					return err
				}
				if id, err := uuid.Parse(n.Payload); err == nil {
					a.clients.Drop(id)
				}
			}
		}()
		if ctx.Err() != nil {
			return
		}
		a.log.Warn("api client revocation listener reconnecting", "error", err.Error())
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// Mount adds the authorization server's and the API's routes.
func (a *API) Mount(r *gin.Engine) {
	r.POST(TokenPath, a.token)
	r.GET(JWKSPath, a.jwks)
	r.GET(MetadataPath, a.metadata)
	a.mountReference(r)

	v1 := r.Group("/api/v1")
	v1.GET("/openapi.json", a.openapi)
	authed := v1.Group("", a.authenticate)
	a.mountUsers(authed)
	a.mountGroups(authed)
	a.mountRoles(authed)
	a.mountRights(authed)
	a.mountAudit(authed)
	a.mountEvents(authed)

	// SCIM 2.0: the same bearer tokens, the scim scope, errors in SCIM's shape.
	scim.Mount(r.Group("/scim/v2", a.authenticate, a.authorizeSCIM), scim.Options{
		Directory: scim.NewDirectory(a.opts.Admin, a.opts.Users, postgres.NewSCIM(a.opts.DB, a.opts.Admin)),
		BaseURL:   a.issuer() + "/scim/v2",
		Logger:    a.log,
		Principal: func(c *gin.Context) (uuid.UUID, postgres.Actor, bool) {
			cl := ClientOf(c)
			if cl == nil {
				return uuid.Nil, postgres.Actor{}, false
			}
			return cl.OrgID, a.actor(c), true
		},
	})
	// Runs before the engine's 404 and 405 handlers (gin adds global
	// middleware to them), so an unknown API path gets a problem document
	// rather than the portal's HTML page.
	r.Use(a.unknownPath)
}

// authorizeSCIM asks the policy for scim.read (GET) or scim.write (any
// change) in the client's organisation; SCIM's handlers keep to it.
func (a *API) authorizeSCIM(c *gin.Context) {
	action := authz.ActionSCIMWrite
	if c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
		action = authz.ActionSCIMRead
	}
	if a.authorize(c, action, Resource{OrgID: ClientOf(c).OrgID}) {
		c.Next()
	}
}

func (a *API) unknownPath(c *gin.Context) {
	if c.FullPath() != "" || !(strings.HasPrefix(c.Request.URL.Path, "/api/") || strings.HasPrefix(c.Request.URL.Path, "/scim/")) {
		c.Next()
		return
	}
	a.problemf(c, http.StatusNotFound, domain.ENOTFOUND, "There is no "+c.Request.Method+" "+c.Request.URL.Path+"; see /api/v1/openapi.json.")
}
