package mitidsim

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// The claim profiles: which broker's claim names the ID token uses.
const (
	ProfileOIOSAML         = "oiosaml"
	ProfileSignaturgruppen = "signaturgruppen"
	ProfileIdura           = "idura"
)

// Client is a relying party registered at the simulator.
type Client struct {
	ID string
	// Secret authenticates the client at the token endpoint with
	// client_secret_basic or client_secret_post. Empty makes a public
	// client, which must use PKCE.
	Secret                 string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// Profile is oiosaml, signaturgruppen or idura; empty means oiosaml.
	Profile string
}

// Validate reports what is wrong with c's registration.
func (c Client) Validate() error {
	if c.ID == "" {
		return errors.New("client: an id is required")
	}
	switch c.Profile {
	case "", ProfileOIOSAML, ProfileSignaturgruppen, ProfileIdura:
	default:
		return fmt.Errorf("client %s: unknown profile %q: use oiosaml, signaturgruppen or idura", c.ID, c.Profile)
	}
	if len(c.RedirectURIs) == 0 {
		return fmt.Errorf("client %s: at least one redirect URI is required", c.ID)
	}
	for _, u := range c.RedirectURIs {
		if err := validateRedirectURI(u); err != nil {
			return fmt.Errorf("client %s: redirect URI: %w", c.ID, err)
		}
	}
	for _, u := range c.PostLogoutRedirectURIs {
		if err := validateRedirectURI(u); err != nil {
			return fmt.Errorf("client %s: post-logout redirect URI: %w", c.ID, err)
		}
	}
	return nil
}

// validateRedirectURI accepts an absolute http or https URL without a fragment.
func validateRedirectURI(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", s)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http or https URL", s)
	}
	if u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q may not have a fragment or user info", s)
	}
	return nil
}

// client adapts a registration to the OP library. Every client is a web
// client using the code flow, so http redirect URIs work in development and
// redirect URIs match exactly.
type client struct {
	id, secret             string
	profile                string
	redirectURIs           []string
	postLogoutRedirectURIs []string
}

func newClient(c Client) *client {
	profile := c.Profile
	if profile == "" {
		profile = ProfileOIOSAML
	}
	return &client{
		id:                     c.ID,
		secret:                 c.Secret,
		profile:                profile,
		redirectURIs:           slices.Clone(c.RedirectURIs),
		postLogoutRedirectURIs: slices.Clone(c.PostLogoutRedirectURIs),
	}
}

func (c *client) GetID() string                    { return c.id }
func (c *client) RedirectURIs() []string           { return c.redirectURIs }
func (c *client) PostLogoutRedirectURIs() []string { return c.postLogoutRedirectURIs }
func (c *client) ApplicationType() op.ApplicationType {
	return op.ApplicationTypeWeb
}
func (c *client) AuthMethod() oidc.AuthMethod {
	if c.secret == "" {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic // client_secret_post is accepted too (op.Config.AuthMethodPost)
}
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c *client) LoginURL(id string) string    { return pathLogin + "?id=" + url.QueryEscape(id) }
func (c *client) AccessTokenType() op.AccessTokenType {
	return op.AccessTokenTypeBearer
}
func (c *client) IDTokenLifetime() time.Duration { return idTokenLifetime }
func (c *client) DevMode() bool                  { return false }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}

// IsScopeAllowed admits ssn (the CPR number) and Signaturgruppen's mitid
// scope besides the standard OpenID scopes.
func (c *client) IsScopeAllowed(scope string) bool { return scope == scopeSSN || scope == "mitid" }

// IDTokenUserinfoClaimsAssertion puts the claims in the ID token, where the
// platform reads them, even though an access token is issued too.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }
