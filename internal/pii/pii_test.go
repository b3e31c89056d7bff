package pii_test

import (
	"bytes"
	"testing"

	"github.com/erhverv/erhverv/internal/pii"
)

func newProtector(t *testing.T, fill byte) *pii.Protector {
	t.Helper()
	p, err := pii.New(bytes.Repeat([]byte{fill}, pii.KeySize))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	p := newProtector(t, 1)
	sealed, err := p.Seal("0101901234")
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if bytes.Contains(sealed, []byte("0101901234")) {
		t.Fatalf("sealed value contains the clear text")
	}
	got, err := p.Open(sealed)
	if err != nil || got != "0101901234" {
		t.Fatalf("Open: got %q, %v; want 0101901234, nil", got, err)
	}
	again, _ := p.Seal("0101901234")
	if bytes.Equal(sealed, again) {
		t.Errorf("two seals of one value are equal; the nonce is not random")
	}
}

func TestOpenRejectsOtherKeyAndTampering(t *testing.T) {
	t.Parallel()
	sealed, err := newProtector(t, 1).Seal("0101901234")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newProtector(t, 2).Open(sealed); err == nil {
		t.Errorf("Open with another key: got nil error, want failure")
	}
	sealed[len(sealed)-1] ^= 0xff
	if _, err := newProtector(t, 1).Open(sealed); err == nil {
		t.Errorf("Open of a tampered value: got nil error, want failure")
	}
}

func TestHashIsKeyedAndStable(t *testing.T) {
	t.Parallel()
	a, b := newProtector(t, 1), newProtector(t, 2)
	if !bytes.Equal(a.Hash("0101901234"), a.Hash("0101901234")) {
		t.Errorf("Hash is not stable for one key")
	}
	if bytes.Equal(a.Hash("0101901234"), b.Hash("0101901234")) {
		t.Errorf("Hash is equal under two keys; it is not keyed")
	}
	if got := len(a.Hash("x")); got != 32 {
		t.Errorf("Hash length: got %d, want 32", got)
	}
}

func TestNewRejectsShortKey(t *testing.T) {
	t.Parallel()
	if _, err := pii.New([]byte("short")); err == nil {
		t.Errorf("New with a 5-byte key: got nil error, want failure")
	}
}
