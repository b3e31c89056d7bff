package api

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/erhverv/erhverv/internal/postgres"
)

func kidOf(t *testing.T, raw string) string {
	t.Helper()
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Headers[0].KeyID
}

func publishedKids(t *testing.T, e *testEnv) []string {
	t.Helper()
	resp, err := e.hc.Get(e.URL + JWKSPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KeyID)
	}
	return kids
}

// TestKeyRotationWithoutDowntime: a rotated-in key is published before it
// signs, tokens of the old key keep working until they expire, and the old
// key leaves the JWKS after that.
func TestKeyRotationWithoutDowntime(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	org := e.org(t, "", "Nordlys")
	client, secret := e.registerClient(t, org, "users:read")
	oldToken := e.tokenFor(t, client.ID.String(), secret)
	oldKid := kidOf(t, oldToken)

	store := postgres.NewSigningKeys(e.DB)
	newKid, err := store.Rotate(context.Background(), time.Minute, TokenLifetime)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.API.keys.load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if kids := publishedKids(t, e); len(kids) != 2 || kids[0] != oldKid || kids[1] != newKid {
		t.Fatalf("JWKS during the publish-ahead window: %v, want [%s %s]", kids, oldKid, newKid)
	}
	// Not active yet: the old key still signs.
	if kid := kidOf(t, e.tokenFor(t, client.ID.String(), secret)); kid != oldKid {
		t.Errorf("signed with %s before the new key is active, want %s", kid, oldKid)
	}

	// Past the publish-ahead window the new key signs, and the old token still verifies.
	e.API.now = func() time.Time { return time.Now().Add(time.Minute + time.Second) }
	if kid := kidOf(t, e.tokenFor(t, client.ID.String(), secret)); kid != newKid {
		t.Errorf("signed with %s after activation, want %s", kid, newKid)
	}
	if _, err := e.API.verify(oldToken); err != nil {
		t.Errorf("a token of the retiring key is refused before it expires: %v", err)
	}

	// Once every token of the old key has expired it leaves the JWKS.
	e.API.now = func() time.Time { return time.Now().Add(time.Minute + TokenLifetime + time.Second) }
	if err := e.API.keys.load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if kids := publishedKids(t, e); len(kids) != 1 || kids[0] != newKid {
		t.Errorf("JWKS after retirement: %v, want [%s]", kids, newKid)
	}
	if resp := e.do(t, http.MethodGet, "/api/v1/openapi.json", "", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("openapi.json: %d", resp.StatusCode)
	}
}
