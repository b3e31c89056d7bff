package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/erhverv/erhverv/internal/api"
	"github.com/erhverv/erhverv/internal/postgres"
)

// keys rotates the key that signs the API's access tokens, without
// downtime: the new key is published at once and signs only after
// --publish-ahead, by when every replica (which reloads keys every 30 s) and
// every verifier caching the JWKS has it; the old key stays published until
// the last token it signed has expired.
func (m *Main) keys(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "rotate" {
		return usageError("keys needs rotate")
	}
	fs := flag.NewFlagSet("keys rotate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	ahead := fs.Duration("publish-ahead", 10*time.Minute, "how long the new key is published before it signs")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError("keys rotate: " + err.Error())
	}
	if *ahead < 0 {
		return usageError("--publish-ahead must not be negative")
	}
	db, err := m.openDB(ctx, true)
	if err != nil {
		return err
	}
	defer db.Close()
	kid, err := postgres.NewSigningKeys(db).Rotate(ctx, *ahead, api.TokenLifetime)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "new signing key %s is published now and signs from %s; the keys it replaces retire %s after that\n",
		kid, time.Now().Add(*ahead).UTC().Format(time.RFC3339), api.TokenLifetime)
	return nil
}
