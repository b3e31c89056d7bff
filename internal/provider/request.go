package provider

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/login"
	"github.com/erhverv/erhverv/internal/postgres"
)

// storedRequest is the part of an authorization request kept with its
// grant (the oidc_grants.request column): what the login page and the
// token endpoint need again.
type storedRequest struct {
	RedirectURI         string                   `json:"redirect_uri"`
	State               string                   `json:"state,omitempty"`
	Nonce               string                   `json:"nonce,omitempty"`
	Scopes              []string                 `json:"scopes"`
	ResponseType        oidc.ResponseType        `json:"response_type"`
	ResponseMode        oidc.ResponseMode        `json:"response_mode,omitempty"`
	CodeChallenge       string                   `json:"code_challenge"`
	CodeChallengeMethod oidc.CodeChallengeMethod `json:"code_challenge_method"`
	Prompt              []string                 `json:"prompt,omitempty"`
	MaxAge              *uint                    `json:"max_age,omitempty"`
	ACRValues           []string                 `json:"acr_values,omitempty"`
	UILocales           []string                 `json:"ui_locales,omitempty"`
}

func (r *storedRequest) prompts(p string) bool { return slices.Contains(r.Prompt, p) }

// authRequest is a grant as the OP library sees it: the request, and once
// the person has logged in, the login.
type authRequest struct {
	grant *postgres.OIDCGrant
	req   storedRequest
}

var _ op.AuthRequest = (*authRequest)(nil)

func newAuthRequest(g *postgres.OIDCGrant) (*authRequest, error) {
	a := &authRequest{grant: g}
	if err := json.Unmarshal(g.Request, &a.req); err != nil {
		return nil, fmt.Errorf("oidc grant %s: stored request: %w", g.ID, err)
	}
	return a, nil
}

func (a *authRequest) GetID() string { return a.grant.ID.String() }

// GetACR is the NSIS level URI the person logged in at.
func (a *authRequest) GetACR() string { return login.LevelOfLoA(a.grant.Level).URI() }
func (a *authRequest) GetAMR() []string {
	return a.grant.AMR
}
func (a *authRequest) GetAudience() []string { return []string{a.grant.ClientID.String()} }
func (a *authRequest) GetAuthTime() time.Time {
	if a.grant.AuthTime == nil {
		return time.Time{}
	}
	return *a.grant.AuthTime
}
func (a *authRequest) GetClientID() string { return a.grant.ClientID.String() }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.req.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.req.CodeChallenge, Method: a.req.CodeChallengeMethod}
}
func (a *authRequest) GetNonce() string                   { return a.req.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.req.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.req.ResponseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.req.ResponseMode }
func (a *authRequest) GetScopes() []string                { return a.req.Scopes }
func (a *authRequest) GetState() string                   { return a.req.State }
func (a *authRequest) GetSubject() string {
	if a.grant.UserID == nil {
		return ""
	}
	return a.grant.UserID.String()
}
func (a *authRequest) Done() bool { return a.grant.CompletedAt != nil }

func (a *authRequest) userID() uuid.UUID {
	if a.grant.UserID == nil {
		return uuid.Nil
	}
	return *a.grant.UserID
}

// requiredLevel is the higher of the client's minimum and the highest level
// in acr_values.
func requiredLevel(clientMin string, acrValues []string) string {
	level := clientMin
	for _, v := range acrValues {
		if l := login.ParseLevelClaim(v).LoA(); domain.LoARank(l) > domain.LoARank(level) {
			level = l
		}
	}
	return level
}
