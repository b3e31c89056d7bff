// Package pii protects personal identifiers at rest. A CPR number is stored
// twice, never in clear: as a keyed hash (HMAC-SHA-256) to match it at
// activation without decrypting anything, and sealed with AES-256-GCM for
// the rare case an allowed reader must see it. Both keys are derived from
// one data key with HKDF, so an operator keeps one secret.
package pii

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// KeySize is the length of the data key in bytes.
const KeySize = 32

// sealVersion prefixes every ciphertext so the key can be rotated later
// without guessing which key sealed a value.
const sealVersion byte = 1

// Protector hashes and seals personal identifiers. It is safe for
// concurrent use.
type Protector struct {
	hashKey []byte
	aead    cipher.AEAD
}

// New derives the hashing and sealing keys from a 32-byte data key.
func New(dataKey []byte) (*Protector, error) {
	if len(dataKey) != KeySize {
		return nil, fmt.Errorf("data key has %d bytes, want %d", len(dataKey), KeySize)
	}
	hashKey, err := hkdf.Key(sha256.New, dataKey, nil, "erhverv cpr hmac v1", 32)
	if err != nil {
		return nil, fmt.Errorf("derive hash key: %w", err)
	}
	sealKey, err := hkdf.Key(sha256.New, dataKey, nil, "erhverv cpr seal v1", 32)
	if err != nil {
		return nil, fmt.Errorf("derive seal key: %w", err)
	}
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	return &Protector{hashKey: hashKey, aead: aead}, nil
}

// Hash returns the keyed hash of v (32 bytes).
func (p *Protector) Hash(v string) []byte {
	m := hmac.New(sha256.New, p.hashKey)
	m.Write([]byte(v))
	return m.Sum(nil)
}

// Seal encrypts v; the result is version || nonce || ciphertext.
func (p *Protector) Seal(v string) ([]byte, error) {
	nonce := make([]byte, p.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	out := append([]byte{sealVersion}, nonce...)
	return p.aead.Seal(out, nonce, []byte(v), []byte{sealVersion}), nil
}

// Open decrypts what Seal produced.
func (p *Protector) Open(sealed []byte) (string, error) {
	n := p.aead.NonceSize()
	if len(sealed) < 1+n || sealed[0] != sealVersion {
		return "", errors.New("pii: unknown sealed value format")
	}
	plain, err := p.aead.Open(nil, sealed[1:1+n], sealed[1+n:], sealed[:1])
	if err != nil {
		return "", errors.New("pii: sealed value does not open with this key")
	}
	return string(plain), nil
}
