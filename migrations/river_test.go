package migrations

import (
	"testing"

	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivermigrate"
)

// TestRiverSchemaVersionIsLatest fails when an upgraded River ships a schema
// version newer than the one pinned: add a Go migration that raises it.
func TestRiverSchemaVersionIsLatest(t *testing.T) {
	t.Parallel()
	m, err := rivermigrate.New(riverdatabasesql.New(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	all := m.AllVersions()
	if got := all[len(all)-1].Version; got != RiverSchemaVersion {
		t.Errorf("River's newest schema version: got %d, want %d (RiverSchemaVersion); add a Go migration that migrates River to %d and raise RiverSchemaVersion", got, RiverSchemaVersion, got)
	}
}
