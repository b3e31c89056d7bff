package main

import (
	"errors"
	"net/http"

	"golang.org/x/oauth2"
)

// callback finishes the login. The order of the checks is the point of the
// demo: each one stops a known attack.
//
//  1. An error from the platform is shown as it is (nothing to trust yet).
//  2. The login cookie must be there and unchanged, and state must match it
//     (login CSRF: the response belongs to a login this browser started).
//  3. iss must be the issuer when present, and present when the platform
//     promises it (RFC 9207: mix-up attacks).
//  4. The code is exchanged with the PKCE verifier (a stolen code is useless).
//  5. The ID token is verified: signature, issuer, audience, expiry.
//  6. Its nonce must match (token replay), its at_hash the access token.
//  7. The level must be at least the one asked for with acr_values.
func (sp *SP) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()

	// 1. The platform's error response.
	if code := q.Get("error"); code != "" {
		sp.setCookie(w, loginCookie, "", -1)
		status, heading := http.StatusBadRequest, "Login mislykkedes"
		if code == "access_denied" {
			status, heading = http.StatusForbidden, "Login blev afvist eller afbrudt"
		}
		note(w, "provider_error", code)
		sp.fail(w, status, errorView{
			Heading:             heading,
			Message:             "Platformen sendte en fejl tilbage i stedet for et login. (The platform returned an error instead of a login.)",
			ProviderError:       code,
			ProviderDescription: q.Get("error_description"),
			Retry:               "/login",
		}, nil)
		return
	}

	// 2. The login cookie and state.
	flow, err := sp.takeLoginFlow(w, r)
	if err != nil {
		sp.fail(w, http.StatusBadRequest, errorView{
			Heading: "Login-forløbet kunne ikke genkendes",
			Message: "Login-cookien mangler, er ændret eller udløbet (efter 10 minutter). Start login forfra. " +
				"(The login cookie is missing, altered or expired; start again.)",
			Retry: "/login",
		}, err)
		return
	}
	if !sameSecret(q.Get("state"), flow.State) {
		sp.fail(w, http.StatusBadRequest, errorView{
			Heading: "Ugyldig state",
			Message: "Svaret hører ikke til det login, denne browser startede. Start login forfra. " +
				"(The state does not match the login this browser started.)",
			Retry: "/login",
		}, errors.New("state missing or mismatched"))
		return
	}

	// 3. iss (RFC 9207).
	p, err := sp.discover(r.Context())
	if err != nil {
		sp.fail(w, http.StatusBadGateway, errorView{
			Heading: "Platformen er ikke tilgængelig",
			Message: "Login kunne ikke afsluttes, fordi platformen ikke svarer. (The platform is unavailable.)",
			Retry:   "/login",
		}, err)
		return
	}
	if iss := q.Get("iss"); (iss == "" && p.issRequired) || (q.Has("iss") && iss != sp.cfg.Issuer) {
		sp.fail(w, http.StatusBadRequest, errorView{
			Heading: "Svaret kommer fra en anden udsteder",
			Message: "Parameteren iss er ikke platformens issuer (" + sp.cfg.Issuer + "). " +
				"(The iss parameter is not the platform's issuer: a possible mix-up attack.)",
			Retry: "/login",
		}, errors.New("iss parameter missing or mismatched"))
		return
	}
	code := q.Get("code")
	if code == "" {
		sp.fail(w, http.StatusBadRequest, errorView{
			Heading: "Ingen kode",
			Message: "Svaret fra platformen har hverken en kode eller en fejl. (No code in the response.)",
			Retry:   "/login",
		}, errors.New("no code"))
		return
	}

	// 4. The code for tokens, with the PKCE verifier.
	ctx := sp.clientContext(r.Context())
	token, err := p.oauth.Exchange(ctx, code, oauth2.VerifierOption(flow.Verifier))
	if err != nil {
		v := errorView{
			Heading: "Koden kunne ikke indløses",
			Message: "Platformens token-endpoint afviste koden eller svarede ikke. (The token request failed.)",
			Retry:   "/login",
		}
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			v.ProviderError, v.ProviderDescription = re.ErrorCode, re.ErrorDescription
		}
		sp.fail(w, http.StatusBadGateway, v, err)
		return
	}
	rawIDToken, _ := token.Extra("id_token").(string)
	if rawIDToken == "" {
		sp.fail(w, http.StatusBadGateway, errorView{
			Heading: "Intet ID-token",
			Message: "Token-svaret havde intet id_token. (The token response had no id_token.)",
			Retry:   "/login",
		}, errors.New("no id_token in token response"))
		return
	}

	// 5. Signature, issuer, audience and expiry.
	idToken, err := p.verifier.Verify(ctx, rawIDToken)
	if err != nil {
		sp.fail(w, http.StatusBadGateway, errorView{
			Heading: "ID-tokenet kunne ikke verificeres",
			Message: "Signatur, udsteder, modtager eller udløb passer ikke. (ID token verification failed.)",
			Retry:   "/login",
		}, err)
		return
	}

	// 6. nonce and at_hash.
	if !sameSecret(idToken.Nonce, flow.Nonce) {
		sp.fail(w, http.StatusBadGateway, errorView{
			Heading: "Forkert nonce",
			Message: "ID-tokenet blev ikke udstedt til dette login. (The ID token's nonce does not match.)",
			Retry:   "/login",
		}, errors.New("nonce mismatch"))
		return
	}
	if idToken.AccessTokenHash != "" {
		if err := idToken.VerifyAccessToken(token.AccessToken); err != nil {
			sp.fail(w, http.StatusBadGateway, errorView{
				Heading: "Access token passer ikke",
				Message: "at_hash i ID-tokenet passer ikke til access token. (at_hash mismatch.)",
				Retry:   "/login",
			}, err)
			return
		}
	}
	var c claims
	if err := idToken.Claims(&c); err != nil {
		sp.fail(w, http.StatusBadGateway, errorView{Heading: "Claims kunne ikke læses", Retry: "/login"}, err)
		return
	}

	// 7. The level asked for.
	login := readLogin(c)
	if flow.ACR != "" && levelRank(login.ACR.URI) < levelRank(flow.ACR) {
		sp.fail(w, http.StatusForbidden, errorView{
			Heading: "For lavt sikringsniveau",
			Message: "Login blev gennemført på et lavere niveau end det, tjenesten bad om (" + newLevel(flow.ACR).Label + "). " +
				"(The login's level is below the one asked for.)",
			Retry: "/login",
		}, errors.New("acr below acr_values"))
		return
	}

	// The login is good. Userinfo shows that the access token works; its
	// failure does not undo the login.
	s := &session{Login: login, RequestACR: flow.ACR, rawIDToken: rawIDToken}
	if ui, err := p.provider.UserInfo(ctx, oauth2.StaticTokenSource(token)); err != nil {
		s.UserInfo.Error = err.Error()
	} else {
		var uc claims
		if err := ui.Claims(&uc); err != nil {
			s.UserInfo.Error = err.Error()
		} else {
			s.UserInfo.Diffs = compareUserinfo(c, uc)
		}
	}

	// A new session id at every login (no session fixation).
	if _, old := sp.currentSession(r); old != "" {
		sp.sessions.delete(old)
	}
	sp.setCookie(w, sessionCookie, sp.sessions.create(s), sessionTTL)
	note(w, "login", "ok", "claim_style", login.Style, "acr", login.ACR.URI,
		"userinfo_same", s.UserInfo.Same())
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
