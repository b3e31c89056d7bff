package api

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/erhverv/erhverv/internal/postgres"
)

// keyRing is this replica's view of the token signing keys (stored in
// PostgreSQL, shared by every replica). Rotation needs no restart: a new key
// is published ahead of its use (`erhverv keys rotate`), every replica picks
// it up within refreshEvery, and the old key stays published until the last
// token it signed has expired.
type keyRing struct {
	store *postgres.SigningKeys
	now   func() time.Time

	mu      sync.RWMutex
	keys    []postgres.SigningKey
	signers map[string]jose.Signer
	jwks    []byte
}

// refreshEvery is how often a replica reloads the keys.
const refreshEvery = 30 * time.Second

func newKeyRing(store *postgres.SigningKeys, now func() time.Time) *keyRing {
	return &keyRing{store: store, now: now, signers: map[string]jose.Signer{}}
}

// load reads the published keys; the first load also creates a key on a
// new installation.
func (k *keyRing) load(ctx context.Context) error {
	keys, err := k.store.Published(ctx, k.now())
	if err != nil {
		return err
	}
	signers := make(map[string]jose.Signer, len(keys))
	set := jose.JSONWebKeySet{}
	for _, key := range keys {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key.Private, KeyID: key.KID}},
			(&jose.SignerOptions{}).WithType("at+jwt"))
		if err != nil {
			return fmt.Errorf("signer for key %s: %w", key.KID, err)
		}
		signers[key.KID] = s
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &key.Private.PublicKey, KeyID: key.KID, Algorithm: "ES256", Use: "sig"})
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.keys, k.signers, k.jwks = keys, signers, jwks
	k.mu.Unlock()
	return nil
}

// init creates the first key of a new installation and loads the keys.
func (k *keyRing) init(ctx context.Context) error {
	if err := k.store.EnsureKey(ctx); err != nil {
		return err
	}
	return k.load(ctx)
}

// refresh reloads the keys every refreshEvery until ctx ends; until the
// first load succeeded it retries every few seconds.
func (k *keyRing) refresh(ctx context.Context, onError func(error)) {
	for {
		wait := refreshEvery
		if !k.loaded() {
			wait = 3 * time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		var err error
		if k.loaded() {
			err = k.load(ctx)
		} else {
			err = k.init(ctx)
		}
		if err != nil && ctx.Err() == nil {
			onError(err)
		}
	}
}

// loaded reports whether a key can sign now.
func (k *keyRing) loaded() bool {
	_, _, err := k.signer()
	return err == nil
}

// Ready is the readiness check of the API: a key signs tokens.
func (k *keyRing) ready(context.Context) error {
	if !k.loaded() {
		return errNoSigningKey
	}
	return nil
}

var errNoSigningKey = errors.New("no signing key is active: run erhverv keys rotate")

// signer returns the key that signs now: the newest one active.
func (k *keyRing) signer() (jose.Signer, string, error) {
	key, err := k.active()
	if err != nil {
		return nil, "", err
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.signers[key.KID], key.KID, nil
}

// active is the key that signs now: the newest one active.
func (k *keyRing) active() (postgres.SigningKey, error) {
	now := k.now()
	k.mu.RLock()
	defer k.mu.RUnlock()
	for i := len(k.keys) - 1; i >= 0; i-- {
		key := k.keys[i]
		if !key.ActiveFrom.After(now) && (key.RetireAfter == nil || key.RetireAfter.After(now)) {
			return key, nil
		}
	}
	return postgres.SigningKey{}, errNoSigningKey
}

// public returns the verification key of kid, if it is published.
func (k *keyRing) public(kid string) (*ecdsa.PublicKey, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	for _, key := range k.keys {
		if key.KID == kid {
			return &key.Private.PublicKey, true
		}
	}
	return nil, false
}

// jwksJSON is the published key set.
func (k *keyRing) jwksJSON() []byte {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.jwks
}

// SigningKey is the key that signs now, for the OpenID Provider, which
// shares the platform's keys (one issuer, one JWKS, one rotation).
func (a *API) SigningKey() (kid string, key *ecdsa.PrivateKey, err error) {
	k, err := a.keys.active()
	if err != nil {
		return "", nil, err
	}
	return k.KID, k.Private, nil
}

// VerificationKeys are the published public keys, by key id.
func (a *API) VerificationKeys() map[string]*ecdsa.PublicKey {
	a.keys.mu.RLock()
	defer a.keys.mu.RUnlock()
	out := make(map[string]*ecdsa.PublicKey, len(a.keys.keys))
	for _, k := range a.keys.keys {
		out[k.KID] = &k.Private.PublicKey
	}
	return out
}
