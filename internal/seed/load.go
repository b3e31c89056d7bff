package seed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

// LoadOptions size the load-test data set; zero fields take the defaults
// the issue asks for.
type LoadOptions struct {
	// Users is the customer's active users (50,000 when 0).
	Users int
	// Assignments is the privilege assignments in all, direct and to
	// groups (250,000 when 0).
	Assignments int
	// Groups is the customer's user groups (50 when 0).
	Groups int
	// RateLimit is the API client's requests per second (100,000, the most
	// the schema allows, when 0).
	RateLimit int
}

// LoadSummary tells what the database holds after Load, counted from it.
type LoadSummary struct {
	Plan LoadPlan
	// Inserted is false when the data set was in place already and Load
	// only registered a client.
	Inserted                            bool
	Users, Groups, Memberships          int
	Privileges                          int
	DirectAssignments, GroupAssignments int
	Took                                time.Duration
	// Client is the service provider's API client registered by this run,
	// with every scope; Secret is its secret, shown only here.
	Client *domain.APIClient
	Secret string
}

// Assignments is the assignments in all.
func (s LoadSummary) Assignments() int { return s.DirectAssignments + s.GroupAssignments }

// ErrLoadMismatch is returned when the database holds a load-test data set
// of another size: Load never adds to or changes one.
var ErrLoadMismatch = errors.New("the database holds a load-test data set of another size")

// Load writes the load-test data set LoadPlan describes into a migrated
// database: a customer with opts.Users active users in ten production units
// and opts.Groups groups, a service provider with four IT systems and twenty
// privileges, and opts.Assignments assignments. Rows are copied in bulk
// (COPY) in one transaction, then the tables are analysed; 50,000 users and
// 250,000 assignments take seconds. Run it before the server starts or
// while it runs: the rights triggers announce every row, which only empties
// the server's rights cache.
//
// When the same data set is in place already Load inserts nothing; one of
// another size is an error wrapping ErrLoadMismatch. Either way it then
// registers a new API client of the service provider with every scope (a
// client's secret cannot be read back, so each run makes one).
func Load(ctx context.Context, db *postgres.DB, opts LoadOptions) (LoadSummary, error) {
	start := time.Now()
	plan, err := NewLoadPlan(opts)
	if err != nil {
		return LoadSummary{}, err
	}
	sum := LoadSummary{Plan: plan}
	present, err := plan.present(ctx, db)
	if err != nil {
		return LoadSummary{}, err
	}
	if !present {
		if err := plan.insert(ctx, db); err != nil {
			return LoadSummary{}, fmt.Errorf("load data set: %w", err)
		}
		sum.Inserted = true
	}
	rate := opts.RateLimit
	if rate == 0 {
		rate = 100_000
	}
	sum.Client, sum.Secret, err = postgres.NewAPIClients(db).Register(ctx, postgres.Actor{Label: "erhverv-load"}, postgres.NewAPIClient{
		OrgID: plan.ProviderID(), Name: "Load test " + time.Now().UTC().Format(time.DateTime), Scopes: domain.APIScopes,
		AuthMethod: domain.APIAuthSecret, RateLimit: rate})
	if err != nil {
		return LoadSummary{}, fmt.Errorf("register load-test client: %w", err)
	}
	if err := db.Pool().QueryRow(ctx, `SELECT
		(SELECT count(*) FROM users WHERE org_id = $1 AND status = 'active'),
		(SELECT count(*) FROM user_groups WHERE org_id = $1),
		(SELECT count(*) FROM group_members WHERE org_id = $1),
		(SELECT count(*) FROM privileges WHERE org_id = $2),
		(SELECT count(*) FROM privilege_assignments WHERE org_id = $1 AND user_id IS NOT NULL),
		(SELECT count(*) FROM privilege_assignments WHERE org_id = $1 AND group_id IS NOT NULL)`,
		plan.CustomerID(), plan.ProviderID()).Scan(&sum.Users, &sum.Groups, &sum.Memberships, &sum.Privileges,
		&sum.DirectAssignments, &sum.GroupAssignments); err != nil {
		return LoadSummary{}, fmt.Errorf("count load data set: %w", err)
	}
	sum.Took = time.Since(start)
	return sum, nil
}

// present reports whether the plan's data set is in the database; an error
// wrapping ErrLoadMismatch when one of another size is.
func (p LoadPlan) present(ctx context.Context, db *postgres.DB) (bool, error) {
	var exists bool
	var users, groups, assignments int
	err := db.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM organisations WHERE id = $1),
		(SELECT count(*) FROM users WHERE org_id = $1),
		(SELECT count(*) FROM user_groups WHERE org_id = $1),
		(SELECT count(*) FROM privilege_assignments WHERE org_id = $1)`, p.CustomerID()).Scan(&exists, &users, &groups, &assignments)
	if err != nil {
		return false, fmt.Errorf("look for load data set: %w", err)
	}
	if !exists {
		return false, nil
	}
	if users != p.Users || groups != p.Groups || assignments != p.Assignments {
		return false, fmt.Errorf("%w: %d users, %d groups, %d assignments (asked for %d, %d, %d): seed a fresh database",
			ErrLoadMismatch, users, groups, assignments, p.Users, p.Groups, p.Assignments)
	}
	return true, nil
}

// insert writes the data set in one transaction.
func (p LoadPlan) insert(ctx context.Context, db *postgres.DB) error {
	tx, err := db.Pool().Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	now := time.Now().UTC()
	customer, provider := p.CustomerID(), p.ProviderID()
	connected := now.AddDate(-1, 0, 0)
	for _, o := range []struct {
		id              uuid.UUID
		cvr, name       string
		serviceProvider bool
	}{{customer, LoadCustomerCVR, "Lasttest Kunde A/S", false}, {provider, LoadProviderCVR, "Lasttest Udbyder A/S", true}} {
		if _, err := tx.Exec(ctx, `INSERT INTO organisations (id, cvr, name, status, is_service_provider, connected_at)
			VALUES ($1, $2, $3, 'active', $4, $5)`, o.id, o.cvr, o.name, o.serviceProvider, connected); err != nil {
			return fmt.Errorf("organisation %s: %w", o.cvr, err)
		}
	}
	steps := []struct {
		table string
		cols  []string
		n     int
		row   func(i int) []any
	}{
		{"production_units", []string{"id", "org_id", "p_number", "name"}, LoadUnits, func(u int) []any {
			return []any{p.UnitID(u), customer, p.UnitPNumber(u), fmt.Sprintf("Lasttest afdeling %d", u)}
		}},
		{"users", []string{"id", "org_id", "first_name", "last_name", "email", "birth_date", "production_unit_id", "status", "activated_at"},
			p.Users, func(i int) []any {
				return []any{p.UserID(i), customer, loadFirstNames[i%len(loadFirstNames)], loadLastNames[(i/len(loadFirstNames))%len(loadLastNames)],
					fmt.Sprintf("bruger%06d@lasttest.example.dk", i), time.Date(1960, 1, 1+(i*37)%15000, 0, 0, 0, 0, time.UTC),
					p.UnitID(p.UserUnit(i)), domain.UserActive, connected}
			}},
		{"it_systems", []string{"id", "org_id", "name"}, len(loadSystems), func(s int) []any {
			return []any{p.SystemID(s), provider, loadSystems[s].name}
		}},
		{"privileges", []string{"id", "org_id", "it_system_id", "uri", "name_da", "name_en", "constraint_types", "min_loa", "group_assignable", "needs_approval"},
			LoadPrivileges, func(k int) []any {
				types := []string{}
				if p.PrivilegeConstrained(k) {
					types = []string{domain.ConstraintKLE}
				}
				return []any{p.PrivilegeID(k), provider, p.SystemID(k / LoadPrivilegesPerSystem), p.PrivilegeURI(k),
					fmt.Sprintf("Lasttest rettighed %02d", k), fmt.Sprintf("Load test privilege %02d", k), types, p.PrivilegeLoA(k), true, false}
			}},
		{"user_groups", []string{"id", "org_id", "name", "production_unit_id"}, p.Groups, func(g int) []any {
			var unit *uuid.UUID
			if u, ok := p.GroupRestriction(g); ok {
				id := p.UnitID(u)
				unit = &id
			}
			return []any{p.GroupID(g), customer, fmt.Sprintf("Lasttest gruppe %03d", g), unit}
		}},
		{"group_members", []string{"id", "org_id", "group_id", "user_id", "member_org_id"}, p.Memberships(), func(n int) []any {
			i, m := n/2, n%2
			g := p.UserGroups(i)[m]
			return []any{ID(fmt.Sprintf("load:member:%d:%d", g, i)), customer, p.GroupID(g), p.UserID(i), customer}
		}},
	}
	for _, s := range steps {
		if err := copyRows(ctx, tx, s.table, s.cols, s.n, s.row); err != nil {
			return err
		}
	}
	if err := p.copyAssignments(ctx, tx, now); err != nil {
		return err
	}
	for _, t := range []string{"organisations", "production_units", "users", "user_groups", "group_members", "it_systems", "privileges", "privilege_assignments"} {
		if _, err := tx.Exec(ctx, "ANALYZE "+t); err != nil {
			return fmt.Errorf("analyze %s: %w", t, err)
		}
	}
	return tx.Commit(ctx)
}

var (
	kleGranted = json.RawMessage(`{"` + domain.ConstraintKLE + `": "25.*"}`)
	noValues   = json.RawMessage(`{}`)
)

// copyAssignments writes the groups' assignments, then every user's.
func (p LoadPlan) copyAssignments(ctx context.Context, tx pgx.Tx, now time.Time) error {
	cols := []string{"id", "org_id", "privilege_id", "user_id", "group_id", "scope_kind", "scope_value", "constraint_values", "valid_from", "valid_to"}
	values := func(k int) json.RawMessage {
		if p.PrivilegeConstrained(k) {
			return kleGranted
		}
		return noValues
	}
	customer := p.CustomerID()
	err := copyRows(ctx, tx, "privilege_assignments", cols, p.GroupAssignments(), func(n int) []any {
		g, k := n/2, p.GroupPrivileges(n / 2)[n%2]
		return []any{ID(fmt.Sprintf("load:assign:group:%d:%d", g, k)), customer, p.PrivilegeID(k), nil, p.GroupID(g),
			domain.ScopeCVR, LoadCustomerCVR, values(k), nil, nil}
	})
	if err != nil {
		return err
	}
	// The direct assignments in user order: user i, assignment j.
	i, j := 0, 0
	expiredFrom, expiredTo := now.AddDate(-1, 0, 0), now.AddDate(0, 0, -1)
	return copyRows(ctx, tx, "privilege_assignments", cols, p.DirectAssignments(), func(int) []any {
		for j >= p.DirectCount(i) {
			i, j = i+1, 0
		}
		k := p.DirectPrivilege(i, j)
		kind, value := domain.ScopeCVR, LoadCustomerCVR
		if p.DirectAtUnit(i, j) {
			kind, value = domain.ScopeP, p.UnitPNumber(p.UserUnit(i))
		}
		var from, to *time.Time
		if p.DirectExpired(i, j) {
			from, to = &expiredFrom, &expiredTo
		}
		user := p.UserID(i)
		row := []any{ID(fmt.Sprintf("load:assign:%d:%d", i, j)), customer, p.PrivilegeID(k), user, nil, kind, value, values(k), from, to}
		j++
		return row
	})
}

// copyRows copies n rows, made by row(0..n-1), into table. Many rows go
// through a staging table first: COPY into a table without indexes,
// constraints or triggers, then one INSERT ... SELECT, is faster than COPY
// into the table itself (13.6 s against 18.7 s for 250,000 assignments).
func copyRows(ctx context.Context, tx pgx.Tx, table string, cols []string, n int, row func(int) []any) error {
	into := table
	if n > 1000 {
		into = "load_stage_" + table
		if _, err := tx.Exec(ctx, fmt.Sprintf("CREATE TEMP TABLE %s (LIKE %s INCLUDING DEFAULTS) ON COMMIT DROP", into, table)); err != nil {
			return fmt.Errorf("stage %s: %w", table, err)
		}
	}
	next := 0
	copied, err := tx.CopyFrom(ctx, pgx.Identifier{into}, cols, pgx.CopyFromFunc(func() ([]any, error) {
		if next == n {
			return nil, nil
		}
		next++
		return row(next - 1), nil
	}))
	if err != nil {
		return fmt.Errorf("copy %s: %w", table, err)
	}
	if into != table {
		list := strings.Join(cols, ", ")
		tag, err := tx.Exec(ctx, fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s", table, list, list, into))
		if err != nil {
			return fmt.Errorf("copy %s: %w", table, err)
		}
		if _, err := tx.Exec(ctx, "DROP TABLE "+into); err != nil {
			return fmt.Errorf("unstage %s: %w", table, err)
		}
		copied = tag.RowsAffected()
	}
	if int(copied) != n {
		return fmt.Errorf("copy %s: copied %d rows, want %d", table, copied, n)
	}
	return nil
}

// Names for the load-test users: 20 × 20 combinations.
var (
	loadFirstNames = []string{"Anne", "Bo", "Camilla", "Dennis", "Eva", "Frederik", "Gitte", "Hans", "Ida", "Jens",
		"Kirsten", "Lars", "Maja", "Niels", "Oliver", "Pia", "Rasmus", "Sara", "Thomas", "Ulla"}
	loadLastNames = []string{"Andersen", "Bach", "Christensen", "Dahl", "Eriksen", "Frandsen", "Gregersen", "Hansen",
		"Iversen", "Jensen", "Kristensen", "Larsen", "Madsen", "Nielsen", "Olsen", "Pedersen", "Rasmussen", "Sørensen", "Thomsen", "Vestergaard"}
)
