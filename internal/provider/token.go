package provider

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/erhverv/erhverv/internal/clientauth"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

// TokenHandler answers the token endpoint's authorization_code requests
// (the API's token endpoint hands them over).
//
// The exchange is the library's pieces in a stricter order: the client is
// authenticated and the code's client, redirect URI and PKCE verifier are
// checked BEFORE the code is claimed. So someone who only saw a code can
// neither use it up nor, by presenting it again, revoke the tokens of its
// rightful use; only its client with the verifier can. It also verifies
// private_key_jwt assertions itself, with the token endpoint as audience
// (OIDC Core 9), and uses each assertion's jti once.
func (p *Provider) TokenHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := op.ContextWithIssuer(r.Context(), p.issuer)
		w.Header().Set("Cache-Control", "no-store")
		resp, err := p.exchange(ctx, r)
		if err != nil {
			op.RequestError(w, r, err, p.log)
			return
		}
		httphelper.MarshalJSON(w, resp)
	})
}

func (p *Provider) exchange(ctx context.Context, r *http.Request) (*oidc.AccessTokenResponse, error) {
	req, err := op.ParseAccessTokenRequest(r, p.op.Decoder())
	if err != nil {
		return nil, err
	}
	if req.Code == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("code missing")
	}
	cl, err := p.authenticateClient(ctx, req)
	if err != nil {
		return nil, err
	}
	g, err := p.opts.Grants.FindByCode(ctx, req.Code)
	if err != nil {
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return nil, oidc.ErrInvalidGrant().WithDescription("invalid code")
		}
		return nil, err
	}
	a, err := newAuthRequest(g)
	if err != nil {
		return nil, err
	}
	if g.ClientID != cl.ID {
		return nil, oidc.ErrInvalidGrant().WithDescription("the code was not issued to this client")
	}
	if req.RedirectURI != a.GetRedirectURI() {
		return nil, oidc.ErrInvalidGrant().WithDescription("redirect_uri does not correspond")
	}
	if err := op.AuthorizeCodeChallenge(req.CodeVerifier, a.GetCodeChallenge()); err != nil {
		return nil, err
	}
	// Everything checks: now the code is used, once.
	g, err = p.opts.Grants.ExchangeCode(ctx, req.Code, p.now().Add(TokenLifetime))
	if errors.Is(err, postgres.ErrCodeReplayed) {
		p.log.LogAttrs(ctx, slog.LevelWarn, "authorization code used twice: its tokens are revoked",
			slog.String("client_id", cl.ID.String()))
		return nil, oidc.ErrInvalidGrant().WithDescription("invalid code")
	}
	if err != nil {
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return nil, oidc.ErrInvalidGrant().WithDescription("invalid code")
		}
		return nil, err
	}
	if a, err = newAuthRequest(g); err != nil {
		return nil, err
	}
	return op.CreateTokenResponse(ctx, a, client{cl}, p.op, true, req.Code, "")
}

// authenticateClient authenticates the client the way it registered:
// client_secret_basic, private_key_jwt, or none (a public client, whose
// proof is the PKCE verifier checked next).
func (p *Provider) authenticateClient(ctx context.Context, req *oidc.AccessTokenRequest) (*domain.OIDCClient, error) {
	invalid := oidc.ErrInvalidClient().WithDescription("client authentication failed")
	if req.ClientAssertionType != "" || req.ClientAssertion != "" {
		if req.ClientAssertionType != oidc.ClientAssertionTypeJWTAssertion || req.ClientSecret != "" {
			return nil, invalid
		}
		cl, err := p.verifyAssertion(ctx, req.ClientID, req.ClientAssertion)
		if err != nil {
			return nil, invalid
		}
		return cl, nil
	}
	cl, err := p.storage.client(ctx, req.ClientID)
	if err != nil {
		return nil, invalid
	}
	switch cl.AuthMethod {
	case domain.OIDCAuthSecretBasic:
		if req.ClientSecret == "" || p.storage.AuthorizeClientIDSecret(ctx, req.ClientID, req.ClientSecret) != nil {
			return nil, invalid
		}
	case domain.OIDCAuthNone:
		if req.ClientSecret != "" {
			return nil, invalid
		}
	default: // private_key_jwt without an assertion
		return nil, invalid
	}
	return cl, nil
}

// verifyAssertion verifies a private_key_jwt assertion (audience: the token
// endpoint or the issuer) and records its jti, so it is used once.
func (p *Provider) verifyAssertion(ctx context.Context, rawID, assertion string) (*domain.OIDCClient, error) {
	var cl *domain.OIDCClient
	err := clientauth.Authenticate(rawID, assertion,
		[]string{p.issuer + TokenPath, p.issuer, p.issuer + IntrospectPath, p.issuer + RevokePath}, p.now(),
		func(id string) ([]byte, error) {
			c, err := p.storage.client(ctx, id)
			if err != nil || c.AuthMethod != domain.OIDCAuthPrivateKeyJWT {
				return nil, clientauth.ErrInvalid
			}
			cl = c
			return c.PublicJWK, nil
		},
		func(jti string, expires time.Time) error {
			return p.opts.Clients.UseAssertionJTI(ctx, cl.ID, jti, expires)
		})
	if err != nil {
		return nil, err
	}
	return cl, nil
}

// withAssertionOnce guards the library's introspection and revocation
// endpoints: a client assertion there is used once too.
func (p *Provider) withAssertionOnce(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			op.RequestError(w, r, oidc.ErrInvalidRequest().WithDescription("the form cannot be parsed"), p.log)
			return
		}
		if r.PostForm.Get("client_assertion_type") == oidc.ClientAssertionTypeJWTAssertion {
			if _, err := p.verifyAssertion(r.Context(), r.PostForm.Get("client_id"), r.PostForm.Get("client_assertion")); err != nil {
				op.RequestError(w, r, oidc.ErrInvalidClient().WithDescription("client authentication failed"), p.log)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
