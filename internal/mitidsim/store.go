package mitidsim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// storeVersion is the format of the identities file.
const storeVersion = 1

type storeFile struct {
	Version    int        `json:"version"`
	Identities []Identity `json:"identities"`
}

// identityStore holds the demo identities and the ones testers created. The
// created ones are written to a JSON file, when there is a path, so they
// survive restarts.
type identityStore struct {
	path string
	log  *slog.Logger

	mu      sync.RWMutex
	created []Identity // oldest first
	byID    map[string]Identity
}

func openIdentityStore(path string, log *slog.Logger) (*identityStore, error) {
	s := &identityStore{path: path, log: log, byID: map[string]Identity{}}
	for _, id := range demoIdentities {
		s.byID[id.Subject] = id
	}
	if path == "" {
		return s, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read identities: %w", err)
	}
	var f storeFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("read identities from %s: %w", path, err)
	}
	if f.Version != storeVersion {
		return nil, fmt.Errorf("read identities from %s: version %d, want %d", path, f.Version, storeVersion)
	}
	for _, id := range f.Identities {
		if _, dup := s.byID[id.Subject]; dup || id.Subject == "" || isReservedSubject(id.Subject) {
			// Demo identities cannot be overwritten from the file.
			log.Warn("identities file: entry skipped", "subject", id.Subject, "path", path)
			continue
		}
		id = id.withUUIDs()
		s.created = append(s.created, id)
		s.byID[id.Subject] = id
	}
	return s, nil
}

// get returns the identity with the subject.
func (s *identityStore) get(subject string) (Identity, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.byID[subject]
	return id, ok
}

// list returns the demo identities, then the created ones newest first.
func (s *identityStore) list() []Identity {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := slices.Clone(demoIdentities)
	for i := len(s.created) - 1; i >= 0; i-- {
		out = append(out, s.created[i])
	}
	return out
}

// create validates in, gives it a new subject and stores it. It returns a
// ValidationError when a field is refused.
func (s *identityStore) create(in IdentityInput, now time.Time) (Identity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := in.normalise(now, s.cprHolder)
	if err != nil {
		return Identity{}, err
	}
	for {
		id.Subject, err = newSubject()
		if err != nil {
			return Identity{}, err
		}
		if _, dup := s.byID[id.Subject]; !dup {
			break
		}
	}
	id.CreatedAt = now.UTC().Truncate(time.Second)
	id = id.withUUIDs()

	created := append(slices.Clip(s.created), id)
	if err := s.save(created); err != nil {
		return Identity{}, err
	}
	s.created = created
	s.byID[id.Subject] = id
	return id, nil
}

// cprHolder reports the subject holding cpr. The caller holds s.mu.
func (s *identityStore) cprHolder(cpr string) (string, bool) {
	for _, id := range s.byID {
		if id.CPR == cpr {
			return id.Subject, true
		}
	}
	return "", false
}

// save writes the created identities atomically: a temporary file in the
// same directory, synced, then renamed over the old one. The file holds CPR
// numbers, so only the owner may read it.
func (s *identityStore) save(created []Identity) error {
	if s.path == "" {
		return nil
	}
	b, err := json.MarshalIndent(storeFile{Version: storeVersion, Identities: created}, "", "  ")
	if err != nil {
		return fmt.Errorf("save identities: %w", err)
	}
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save identities: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(s.path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("save identities: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save identities: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save identities: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save identities: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("save identities: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the rename durable where the platform allows it
		d.Close()
	}
	return nil
}

// newSubject is a fresh subject for a created identity: sim- and 12 hex digits.
func newSubject() (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("new subject: %w", err)
	}
	return "sim-" + hex.EncodeToString(b[:]), nil
}
