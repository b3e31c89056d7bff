// Package migrations holds the database schema as goose SQL migrations,
// embedded so the erhverv binary can migrate a database without any files
// beside it. Migrations are append-only once they have landed on main.
package migrations

import "embed"

// FS holds every *.sql migration, in goose's numbered order.
//
//go:embed *.sql
var FS embed.FS
