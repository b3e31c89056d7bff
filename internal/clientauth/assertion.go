// Package clientauth verifies private_key_jwt client assertions (RFC 7523),
// the way both the integrator API and the OpenID Provider authenticate
// clients that hold their own key.
package clientauth

import (
	"errors"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/erhverv/erhverv/internal/postgres"
)

// Algorithms are the signature algorithms a client assertion may use.
var Algorithms = []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.RS256, jose.PS256}

// MaxLifetime bounds how far ahead an assertion may expire, so a stolen one
// is worth little and its jti need not be remembered long.
const MaxLifetime = 10 * time.Minute

// ErrInvalid is any assertion that does not verify; callers answer
// invalid_client without saying why.
var ErrInvalid = errors.New("invalid client assertion")

// UnverifiedSubject is the assertion's subject before verification, to find
// the client when the request does not name it.
func UnverifiedSubject(assertion string) (string, error) {
	tok, err := jwt.ParseSigned(assertion, Algorithms)
	if err != nil {
		return "", ErrInvalid
	}
	var c jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil {
		return "", ErrInvalid
	}
	return c.Subject, nil
}

// Verify checks an assertion signed with the client's registered public key:
// issued by and about clientID, for one of audiences, unexpired (30 s
// leeway), expiring within MaxLifetime, with a jti. It returns the jti and
// expiry, which the caller records so the assertion is used once.
func Verify(assertion, clientID string, publicJWK []byte, audiences []string, now time.Time) (jti string, expires time.Time, err error) {
	tok, err := jwt.ParseSigned(assertion, Algorithms)
	if err != nil {
		return "", time.Time{}, ErrInvalid
	}
	key, err := postgres.ParseClientJWK(string(publicJWK))
	if err != nil {
		return "", time.Time{}, ErrInvalid
	}
	var claims jwt.Claims
	if err := tok.Claims(key.Key, &claims); err != nil {
		return "", time.Time{}, ErrInvalid
	}
	if claims.Issuer != clientID || claims.Subject != clientID || claims.ID == "" || claims.Expiry == nil ||
		!slices.ContainsFunc(audiences, claims.Audience.Contains) ||
		claims.Expiry.Time().After(now.Add(MaxLifetime)) {
		return "", time.Time{}, ErrInvalid
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{Time: now}, 30*time.Second); err != nil {
		return "", time.Time{}, ErrInvalid
	}
	return claims.ID, claims.Expiry.Time(), nil
}

// Authenticate verifies a client's assertion end to end: the client is
// rawID, or the assertion's subject when the request names none; key
// returns that client's registered public key (an error for an unknown
// client or one that authenticates otherwise); the assertion must verify
// (Verify) and its jti is then recorded by useOnce, so it works once.
func Authenticate(rawID, assertion string, audiences []string, now time.Time,
	key func(clientID string) ([]byte, error), useOnce func(jti string, expires time.Time) error) error {
	if rawID == "" {
		sub, err := UnverifiedSubject(assertion)
		if err != nil {
			return err
		}
		rawID = sub
	}
	publicJWK, err := key(rawID)
	if err != nil {
		return ErrInvalid
	}
	jti, expires, err := Verify(assertion, rawID, publicJWK, audiences, now)
	if err != nil {
		return err
	}
	if err := useOnce(jti, expires); err != nil {
		return ErrInvalid
	}
	return nil
}
