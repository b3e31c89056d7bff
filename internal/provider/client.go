package provider

import (
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/erhverv/erhverv/internal/domain"
)

// client is a registered OIDC client as the OP library sees it.
type client struct{ c *domain.OIDCClient }

var _ op.Client = client{}

func (c client) GetID() string                    { return c.c.ID.String() }
func (c client) RedirectURIs() []string           { return c.c.RedirectURIs }
func (c client) PostLogoutRedirectURIs() []string { return c.c.PostLogoutRedirectURIs }

// ApplicationType is web for confidential clients. A public client is
// treated as native: its registered loopback redirect URIs may then use any
// port (RFC 8252), and https ones still match exactly.
func (c client) ApplicationType() op.ApplicationType {
	if c.c.AuthMethod == domain.OIDCAuthNone {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

func (c client) AuthMethod() oidc.AuthMethod {
	switch c.c.AuthMethod {
	case domain.OIDCAuthPrivateKeyJWT:
		return oidc.AuthMethodPrivateKeyJWT
	case domain.OIDCAuthNone:
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

func (c client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c client) GrantTypes() []oidc.GrantType { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c client) LoginURL(id string) string    { return LoginPath + "?id=" + id }

// AccessTokenType is JWT: a service may check an access token itself with
// the JWKS, and the userinfo endpoint checks it against the login too.
func (c client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }
func (c client) IDTokenLifetime() time.Duration      { return TokenLifetime }
func (c client) DevMode() bool                       { return false }
func (c client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c client) IsScopeAllowed(string) bool { return false }

// IDTokenUserinfoClaimsAssertion puts every claim in the ID token, where
// services (and SAML-minded ones most) look for them.
func (c client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c client) ClockSkew() time.Duration             { return 0 }
