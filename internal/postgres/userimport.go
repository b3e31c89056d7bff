package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/erhverv/erhverv/internal/audit"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/userimport"
)

// ImportValidity is how long an uploaded file waits for its confirmation.
const ImportValidity = 24 * time.Hour

// analyzeRows is the size of file from which staging refreshes the staged
// rows' statistics.
const analyzeRows = 1000

// UserImports stages, checks and applies bulk imports of users
// (internal/userimport). It talks to pgx directly rather than through gorm:
// a file of 100,000 rows is copied into user_import_rows with COPY and
// checked and applied with set-based statements, so neither time nor memory
// grows with the rows one by one.
type UserImports struct {
	db       *DB
	validity time.Duration
}

// NewUserImports returns the import service.
func NewUserImports(db *DB) *UserImports { return &UserImports{db: db, validity: ImportValidity} }

// Imports returns the import service on the user repository's database.
func (s *UserService) Imports() *UserImports { return NewUserImports(s.db) }

var (
	errImportNotFound = &domain.Error{Code: domain.ENOTFOUND, Key: "import.not_found",
		Message: "The import does not exist or has expired; upload the file again."}
	errImportApplied = &domain.Error{Code: domain.ECONFLICT, Key: "import.applied",
		Message: "This import has been applied already."}
	errImportHasErrors = &domain.Error{Code: domain.EINVALID, Key: "import.has_errors",
		Message: "Some rows have problems: correct them in the file and upload it again."}
	errImportNoRows = &userimport.FileError{Key: "no_rows", Message: "The file has a heading row but no rows below it."}
)

// ErrImportChanged is returned by ApplyImport when users changed after the upload
// so that some rows no longer fit (an email taken meanwhile, a user deleted).
// Nothing is applied; the rows' new problems are stored for the preview.
var ErrImportChanged = &domain.Error{Code: domain.ECONFLICT, Key: "import.changed",
	Message: "Users have changed since the upload and some rows no longer fit. See the rows with problems, correct the file and upload it again."}

// errImportRaced is returned when a user the import is about changed while
// it was being applied; nothing is applied.
var errImportRaced = &domain.Error{Code: domain.ECONFLICT, Key: "import.raced",
	Message: "Someone changed one of the users while the import was being applied, so nothing was applied. Confirm again."}

// StageRequest is one uploaded file.
type StageRequest struct {
	OrgID      uuid.UUID
	UploadedBy uuid.UUID
	FileName   string
	File       io.Reader
}

// Stage reads, checks and stores an uploaded file for its preview, in one
// transaction: a file that cannot be read (a *userimport.FileError, or the
// upload failing) leaves nothing behind. Rows with problems are stored with
// them; the import can be applied only when there are none.
func (s *UserImports) Stage(ctx context.Context, req StageRequest) (*userimport.Import, error) {
	now := s.db.Now().UTC()
	rules, err := s.rules(ctx, req.OrgID, now)
	if err != nil {
		return nil, err
	}
	sum := sha256.New()
	file := &limitedReader{r: io.TeeReader(req.File, sum), max: userimport.MaxFileBytes}
	rd, err := userimport.NewReader(file, rules)
	if err != nil {
		return nil, err
	}
	tx, err := s.db.pool.Begin(ctx)
	if err != nil {
		return nil, pgError("stage import", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after commit
	// Expired imports go first, whoever's they are: they hold personal data.
	if _, err := tx.Exec(ctx, "DELETE FROM user_imports WHERE expires_at <= $1", now); err != nil {
		return nil, pgError("purge expired imports", err)
	}
	h := rd.Header()
	imp := &userimport.Import{ID: uuid.New(), OrgID: req.OrgID, UploadedBy: req.UploadedBy, FileName: fileName(req.FileName),
		Columns: h.Columns, Headings: h.Labels, Status: userimport.StatusPending, ExpiresAt: now.Add(s.validity), CreatedAt: now}
	if _, err := tx.Exec(ctx, `INSERT INTO user_imports (id, org_id, uploaded_by, file_name, file_size, file_sha256, columns, headings, expires_at, created_at)
		VALUES ($1, $2, $3, $4, 0, $5, $6, $7, $8, $9)`,
		imp.ID, imp.OrgID, imp.UploadedBy, imp.FileName, make([]byte, 32), imp.Columns, imp.Headings, imp.ExpiresAt, now); err != nil {
		return nil, pgError("stage import", err)
	}
	src := &stageSource{rd: rd, imp: imp, db: s.db}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"user_import_rows"}, stageColumns, src)
	switch {
	case src.err != nil:
		return nil, src.err
	case err != nil:
		return nil, pgError("stage import rows", err)
	case n == 0:
		return nil, errImportNoRows
	}
	// The planner must know when the staged rows are many, or the checks'
	// joins become nested loops over them (minutes for 100,000 rows).
	// ANALYZE holds its lock until commit, so only large files take it.
	if n >= analyzeRows {
		if _, err := tx.Exec(ctx, "ANALYZE user_import_rows"); err != nil {
			return nil, pgError("stage import", err)
		}
	}
	imp.FileSize, imp.SHA256 = file.n, sum.Sum(nil)
	if _, err := tx.Exec(ctx, "UPDATE user_imports SET file_size = $2, file_sha256 = $3 WHERE id = $1", imp.ID, imp.FileSize, imp.SHA256); err != nil {
		return nil, pgError("stage import", err)
	}
	if imp.Counts, err = s.check(ctx, tx, imp, now, false); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, pgError("stage import", err)
	}
	return imp, nil
}

// rules are the organisation's mandatory fields and units, for the checks
// of each row.
func (s *UserImports) rules(ctx context.Context, orgID uuid.UUID, now time.Time) (userimport.Rules, error) {
	r := userimport.Rules{Units: map[string]userimport.Unit{}, SENumbers: map[string]userimport.Unit{}, Now: now}
	err := s.db.pool.QueryRow(ctx, "SELECT mandatory_user_fields FROM organisations WHERE id = $1", orgID).Scan(&r.MandatoryFields)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, &domain.Error{Code: domain.ENOTFOUND, Key: "org.not_found", Message: "The organisation does not exist."}
	}
	if err != nil {
		return r, pgError("import rules", err)
	}
	rows, err := s.db.pool.Query(ctx, `SELECT 'p', id, p_number, status FROM production_units WHERE org_id = $1
		UNION ALL SELECT 's', id, se_number, status FROM se_numbers WHERE org_id = $1`, orgID)
	if err != nil {
		return r, pgError("import rules", err)
	}
	var kind, number, status string
	var id uuid.UUID
	_, err = pgx.ForEachRow(rows, []any{&kind, &id, &number, &status}, func() error {
		m := r.Units
		if kind == "s" {
			m = r.SENumbers
		}
		m[number] = userimport.Unit{ID: id, Active: status == "active"}
		return nil
	})
	return r, pgError("import rules", err)
}

func fileName(name string) string {
	name = name[strings.LastIndexAny(name, `/\`)+1:]
	if r := []rune(name); len(r) > 255 {
		name = string(r[:255])
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
}

// limitedReader counts what it reads and fails past max bytes.
type limitedReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.max {
		return n, userimport.ErrTooLarge
	}
	return n, err
}

var stageColumns = []string{"import_id", "org_id", "row_no", "action", "user_id", "first_name", "last_name", "email", "phone",
	"cpr_hmac", "cpr_ciphertext", "birth_date", "production_unit_id", "se_number_id", "employee_number", "department", "errors"}

// stageSource feeds the reader's rows to COPY one at a time, sealing and
// hashing each CPR number as it passes.
type stageSource struct {
	rd   *userimport.Reader
	imp  *userimport.Import
	db   *DB
	vals []any
	err  error
}

func (s *stageSource) Next() bool {
	row, err := s.rd.Next()
	if errors.Is(err, io.EOF) {
		return false
	}
	if err != nil {
		s.err = err
		return false
	}
	var id, birth, hash, sealed any
	if row.UserID != uuid.Nil {
		id = row.UserID
	}
	if !row.BirthDate.IsZero() {
		birth = row.BirthDate
	}
	if row.CPR != "" {
		if s.db.pii == nil {
			s.err = errors.New("stage import: no data key configured to protect CPR numbers")
			return false
		}
		b, err := s.db.pii.Seal(row.CPR)
		if err != nil {
			s.err = err
			return false
		}
		hash, sealed = s.db.pii.Hash(row.CPR), b
		row.CPR = ""
	}
	errs := []byte("[]")
	if row.HasErrors() {
		errs, _ = json.Marshal(row.Errors)
	}
	s.vals = append(s.vals[:0], s.imp.ID, s.imp.OrgID, row.Line, string(row.Action), id, row.FirstName, row.LastName, row.Email, row.Phone,
		hash, sealed, birth, row.ProductionUnitID, row.SENumberID, row.EmployeeNumber, row.Department, errs)
	return true
}

func (s *stageSource) Values() ([]any, error) { return s.vals, nil }
func (s *stageSource) Err() error             { return s.err }

// rowError is a row problem found by a check against the database, as the
// JSON object the errors column holds.
func rowError(col, key, msg string) string {
	b, _ := json.Marshal(userimport.RowError{Column: col, Key: key, Message: msg})
	return string(b)
}

// The value a staged update row gives each field of its user (r the staged
// row, u the user): a column the file lacks keeps the user's value, and a
// P-number given removes an SE-number and the other way round, since a user
// is tied to one.
const (
	newFirstName = "CASE WHEN @has_first_name THEN r.first_name ELSE u.first_name END"
	newLastName  = "CASE WHEN @has_last_name THEN r.last_name ELSE u.last_name END"
	newEmail     = "CASE WHEN @has_email THEN r.email ELSE u.email END"
	newPhone     = "CASE WHEN @has_phone THEN NULLIF(r.phone, '') ELSE u.phone END"
	newBirthDate = "COALESCE(r.birth_date, u.birth_date)"
	newCPRHmac   = "COALESCE(u.cpr_hmac, r.cpr_hmac)"
	newCPRSealed = "CASE WHEN u.cpr_hmac IS NULL THEN r.cpr_ciphertext ELSE u.cpr_ciphertext END"
	newUnit      = "CASE WHEN @has_p_number THEN r.production_unit_id WHEN @has_se_number AND r.se_number_id IS NOT NULL THEN NULL ELSE u.production_unit_id END"
	newSENumber  = "CASE WHEN @has_se_number THEN r.se_number_id WHEN @has_p_number AND r.production_unit_id IS NOT NULL THEN NULL ELSE u.se_number_id END"
	newEmployee  = "CASE WHEN @has_employee_number THEN NULLIF(r.employee_number, '') ELSE u.extra_fields->>'employee_number' END"
	newDept      = "CASE WHEN @has_department THEN NULLIF(r.department, '') ELSE u.extra_fields->>'department' END"
	newExtra     = "jsonb_strip_nulls(u.extra_fields || jsonb_build_object('employee_number', " + newEmployee + ", 'department', " + newDept + "))"
)

// targetsSQL notes on each row the status of the user it is about (NULL
// when the organisation has no such living user: another organisation's
// UUID is not found, exactly like an unknown one) and, on each update row,
// the fields it changes, with their old and new values as text (empty for
// none; {} when nothing changes). The CPR number shows only as registered
// or not.
var targetsSQL = func() string {
	fields := []struct{ key, old, new string }{
		{"first_name", "u.first_name", newFirstName},
		{"last_name", "u.last_name", newLastName},
		{"email", "u.email", newEmail},
		{"phone", "COALESCE(u.phone, '')", "COALESCE(" + newPhone + ", '')"},
		{"birth_date", "COALESCE(u.birth_date::text, '')", "COALESCE((" + newBirthDate + ")::text, '')"},
		{"cpr", "CASE WHEN u.cpr_hmac IS NULL THEN '' ELSE 'registered' END", "CASE WHEN " + newCPRHmac + " IS NULL THEN '' ELSE 'registered' END"},
		{"production_unit_id", "COALESCE(u.production_unit_id::text, '')", "COALESCE((" + newUnit + ")::text, '')"},
		{"se_number_id", "COALESCE(u.se_number_id::text, '')", "COALESCE((" + newSENumber + ")::text, '')"},
		{"employee_number", "COALESCE(u.extra_fields->>'employee_number', '')", "COALESCE(" + newEmployee + ", '')"},
		{"department", "COALESCE(u.extra_fields->>'department', '')", "COALESCE(" + newDept + ", '')"},
	}
	var before, after []string
	for _, f := range fields {
		changed := "(" + f.old + ") IS DISTINCT FROM (" + f.new + ")"
		before = append(before, "'"+f.key+"', CASE WHEN "+changed+" THEN "+f.old+" END")
		after = append(after, "'"+f.key+"', CASE WHEN "+changed+" THEN "+f.new+" END")
	}
	changes := "r.action = 'update' AND u.id IS NOT NULL"
	return `UPDATE user_import_rows t SET user_status = d.status, before = d.before, after = d.after
		FROM (SELECT r.row_no, u.status,
		             CASE WHEN ` + changes + ` THEN jsonb_strip_nulls(jsonb_build_object(` + strings.Join(before, ", ") + `)) END AS before,
		             CASE WHEN ` + changes + ` THEN jsonb_strip_nulls(jsonb_build_object(` + strings.Join(after, ", ") + `)) END AS after
		      FROM user_import_rows r
		      LEFT JOIN users u ON u.org_id = r.org_id AND u.id = r.user_id AND u.status <> 'deleted'
		      WHERE r.import_id = @imp AND r.action IN ('update', 'deactivate', 'delete') AND r.user_id IS NOT NULL) d
		WHERE t.import_id = @imp AND t.row_no = d.row_no`
}()

// checkArgs are the named arguments of the checks and of applying: the
// import, its organisation, and which columns the file has.
func checkArgs(imp *userimport.Import) pgx.NamedArgs {
	args := pgx.NamedArgs{"imp": imp.ID, "org": imp.OrgID}
	for _, col := range []string{userimport.ColFirstName, userimport.ColLastName, userimport.ColEmail, userimport.ColPhone,
		userimport.ColPNumber, userimport.ColSENumber, userimport.ColEmployeeNumber, userimport.ColDepartment} {
		args["has_"+col] = imp.Heading(col) != ""
	}
	return args
}

// check runs the checks that need the users of the organisation, adding
// each problem to its row, and counts the rows. With lock (when applying),
// the organisation administrators' roles stay locked until the transaction
// ends, as when one user's status changes. The users themselves are not
// locked (locking 100,000 rows costs seconds): each change statement
// repeats its condition on the user's status, and ApplyImport compares the
// rows changed with the rows checked, so a user changed meanwhile fails the
// whole import instead of slipping through.
func (s *UserImports) check(ctx context.Context, tx pgx.Tx, imp *userimport.Import, now time.Time, lock bool) (userimport.Counts, error) {
	args := checkArgs(imp)
	with := func(extra pgx.NamedArgs) pgx.NamedArgs {
		out := pgx.NamedArgs{}
		for k, v := range args {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	steps := []struct {
		sql  string
		args pgx.NamedArgs
	}{
		{targetsSQL, args},
		{`UPDATE user_import_rows SET errors = errors || jsonb_build_array(@err::jsonb)
		  WHERE import_id = @imp AND action IN ('update', 'deactivate', 'delete') AND user_id IS NOT NULL AND user_status IS NULL`,
			with(pgx.NamedArgs{"err": rowError(userimport.ColUUID, "user_not_found",
				"The organisation has no user with this UUID; copy it from the export or the user's page.")})},
		// One row per user.
		{`UPDATE user_import_rows t SET errors = t.errors || jsonb_build_array(@err::jsonb || jsonb_build_object('r', d.first_row))
		  FROM (SELECT row_no, min(row_no) OVER (PARTITION BY user_id) AS first_row FROM user_import_rows
		        WHERE import_id = @imp AND action IN ('update', 'deactivate', 'delete') AND user_id IS NOT NULL) d
		  WHERE t.import_id = @imp AND t.row_no = d.row_no AND d.first_row < d.row_no`,
			with(pgx.NamedArgs{"err": rowError(userimport.ColUUID, "user_repeated", "The same user is in an earlier row; one row per user.")})},
		// Only an active user can be deactivated.
		{`UPDATE user_import_rows SET errors = errors || jsonb_build_array(CASE user_status WHEN 'pending' THEN @pending::jsonb ELSE @already::jsonb END)
		  WHERE import_id = @imp AND action = 'deactivate' AND user_status IN ('pending', 'deactivated')`,
			with(pgx.NamedArgs{
				"pending": rowError(userimport.ColAction, "deactivate_pending", "The user has not been activated yet and cannot be deactivated; delete the user instead."),
				"already": rowError(userimport.ColAction, "already_deactivated", "The user is deactivated already; remove the row.")})},
		// A stored CPR number is never replaced, and decides the birth date.
		{`UPDATE user_import_rows r SET errors = r.errors || jsonb_build_array(CASE WHEN r.cpr_hmac IS NOT NULL THEN @cpr::jsonb ELSE @birth::jsonb END)
		  FROM users u
		  WHERE r.import_id = @imp AND r.action = 'update' AND u.org_id = r.org_id AND u.id = r.user_id AND u.status <> 'deleted'
		    AND u.cpr_hmac IS NOT NULL AND ((r.cpr_hmac IS NOT NULL AND r.cpr_hmac <> u.cpr_hmac)
		      OR (r.cpr_hmac IS NULL AND r.birth_date IS NOT NULL AND r.birth_date IS DISTINCT FROM u.birth_date))`,
			with(pgx.NamedArgs{
				"cpr": rowError(userimport.ColCPR, "cpr_change",
					"The user has another CPR number; a CPR number cannot be changed. Leave the cell empty to keep it."),
				"birth": rowError(userimport.ColBirthDate, "birth_date_cpr",
					"The date of birth follows from the user's CPR number; leave the cell empty.")})},
		// One email per living user of the organisation, counting the file
		// as if applied: a user the file deletes or gives another email
		// frees the old one.
		{`WITH touched AS (
			SELECT user_id FROM user_import_rows WHERE import_id = @imp AND user_id IS NOT NULL
			  AND (action = 'delete' OR (action = 'update' AND email IS NOT NULL))
		  ), claims AS (
			SELECT lower(email) AS e, row_no FROM user_import_rows WHERE import_id = @imp AND action IN ('create', 'update') AND email <> ''
			UNION ALL
			SELECT lower(u.email), NULL FROM users u WHERE u.org_id = @org AND u.status <> 'deleted'
			  AND NOT EXISTS (SELECT 1 FROM touched t WHERE t.user_id = u.id)
		  ), ranked AS (
			SELECT row_no, min(row_no) OVER w AS first_row, bool_or(row_no IS NULL) OVER w AS taken FROM claims WINDOW w AS (PARTITION BY e)
		  )
		  UPDATE user_import_rows t SET errors = t.errors || jsonb_build_array(CASE WHEN d.taken THEN @taken::jsonb
		      ELSE @repeated::jsonb || jsonb_build_object('r', d.first_row) END)
		  FROM ranked d WHERE t.import_id = @imp AND t.row_no = d.row_no AND (d.taken OR d.first_row < d.row_no)`,
			with(pgx.NamedArgs{
				"taken":    rowError(userimport.ColEmail, "email_taken", "Another user of the organisation has this email."),
				"repeated": rowError(userimport.ColEmail, "email_repeated", "An earlier row has the same email.")})},
		// One living business identity per person (CPR) in the
		// organisation, counting the file as if applied.
		{`WITH gone AS (
			SELECT user_id FROM user_import_rows WHERE import_id = @imp AND action = 'delete' AND user_id IS NOT NULL
		  ), claims AS (
			SELECT cpr_hmac AS h, row_no, CASE WHEN action = 'update' THEN user_id END AS self
			  FROM user_import_rows WHERE import_id = @imp AND action IN ('create', 'update') AND cpr_hmac IS NOT NULL
			UNION ALL
			SELECT u.cpr_hmac, NULL, u.id FROM users u WHERE u.org_id = @org AND u.status <> 'deleted' AND u.cpr_hmac IS NOT NULL
			  AND NOT EXISTS (SELECT 1 FROM gone g WHERE g.user_id = u.id)
		  ), ranked AS (
			SELECT row_no, self, min(row_no) OVER w AS first_row,
			       min(CASE WHEN row_no IS NULL THEN self::text END) OVER w AS holder
			FROM claims WINDOW w AS (PARTITION BY h)
		  )
		  UPDATE user_import_rows t SET errors = t.errors || jsonb_build_array(CASE WHEN d.holder IS DISTINCT FROM d.self::text AND d.holder IS NOT NULL
		      THEN @taken::jsonb ELSE @repeated::jsonb || jsonb_build_object('r', d.first_row) END)
		  FROM ranked d WHERE t.import_id = @imp AND t.row_no = d.row_no
		    AND ((d.holder IS NOT NULL AND d.holder IS DISTINCT FROM d.self::text) OR d.first_row < d.row_no)`,
			with(pgx.NamedArgs{
				"taken":    rowError(userimport.ColCPR, "cpr_taken", "This person already has a business identity in the organisation."),
				"repeated": rowError(userimport.ColCPR, "cpr_repeated", "An earlier row has the same CPR number.")})},
	}
	for _, st := range steps {
		if _, err := tx.Exec(ctx, st.sql, st.args); err != nil {
			return userimport.Counts{}, pgError("check import", err)
		}
	}
	if err := s.checkLastOrgAdmin(ctx, tx, imp, now, lock); err != nil {
		return userimport.Counts{}, err
	}
	var c userimport.Counts
	err := tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE action = 'create'), count(*) FILTER (WHERE action = 'update'),
		count(*) FILTER (WHERE action = 'update' AND after = '{}'), count(*) FILTER (WHERE action = 'deactivate'),
		count(*) FILTER (WHERE action = 'delete'), count(*) FILTER (WHERE errors <> '[]')
		FROM user_import_rows WHERE import_id = $1`, imp.ID).
		Scan(&c.Rows, &c.Creates, &c.Updates, &c.Unchanged, &c.Deactivations, &c.Deletions, &c.WithErrors)
	if err != nil {
		return c, pgError("count import", err)
	}
	_, err = tx.Exec(ctx, `UPDATE user_imports SET rows_total = $2, creates = $3, updates = $4, unchanged = $5, deactivations = $6,
		deletions = $7, rows_with_errors = $8 WHERE id = $1`, imp.ID, c.Rows, c.Creates, c.Updates, c.Unchanged, c.Deactivations, c.Deletions, c.WithErrors)
	return c, pgError("count import", err)
}

// checkLastOrgAdmin refuses rows that would deactivate or delete every
// active organisation administrator (the same rule as one user's status
// change, refuseLastOrgAdmin).
func (s *UserImports) checkLastOrgAdmin(ctx context.Context, tx pgx.Tx, imp *userimport.Import, now time.Time, lock bool) error {
	q := `SELECT ar.user_id FROM admin_roles ar JOIN users u ON u.id = ar.user_id
		WHERE ar.org_id = $1 AND ar.role = 'org_admin' AND u.status = 'active'
		  AND (ar.valid_from IS NULL OR ar.valid_from <= $2) AND (ar.valid_to IS NULL OR ar.valid_to > $2)`
	if lock {
		q += " FOR UPDATE"
	}
	rows, err := tx.Query(ctx, q, imp.OrgID, now)
	if err != nil {
		return pgError("count organisation administrators", err)
	}
	admins, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil || len(admins) == 0 {
		return pgError("count organisation administrators", err)
	}
	var leaving int
	err = tx.QueryRow(ctx, `SELECT count(DISTINCT user_id) FROM user_import_rows
		WHERE import_id = $1 AND action IN ('deactivate', 'delete') AND user_id = ANY($2)`, imp.ID, admins).Scan(&leaving)
	if err != nil {
		return pgError("count organisation administrators", err)
	}
	if leaving < len(uniqueIDs(admins)) {
		return nil // someone stays (an administrator may hold the role twice)
	}
	_, err = tx.Exec(ctx, `UPDATE user_import_rows SET errors = errors || jsonb_build_array($3::jsonb)
		WHERE import_id = $1 AND action IN ('deactivate', 'delete') AND user_id = ANY($2)`, imp.ID, admins,
		rowError(userimport.ColAction, "last_org_admin", "The file would leave the organisation without an active organisation administrator; keep at least one."))
	return pgError("check organisation administrators", err)
}

func uniqueIDs(ids []uuid.UUID) map[uuid.UUID]bool {
	m := make(map[uuid.UUID]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

const importColumns = `id, org_id, uploaded_by, file_name, file_size, file_sha256, columns, headings, status, rows_total, creates, updates,
	unchanged, deactivations, deletions, rows_with_errors, expires_at, applied_at, created_at`

func scanImport(row pgx.Row) (*userimport.Import, error) {
	var i userimport.Import
	err := row.Scan(&i.ID, &i.OrgID, &i.UploadedBy, &i.FileName, &i.FileSize, &i.SHA256, &i.Columns, &i.Headings, &i.Status,
		&i.Counts.Rows, &i.Counts.Creates, &i.Counts.Updates, &i.Counts.Unchanged, &i.Counts.Deactivations, &i.Counts.Deletions,
		&i.Counts.WithErrors, &i.ExpiresAt, &i.AppliedAt, &i.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errImportNotFound
	}
	return &i, pgError("find import", err)
}

// FindImport returns an import of the organisation that uploader uploaded.
// Anyone else's, and an expired one, is ENOTFOUND.
func (s *UserImports) FindImport(ctx context.Context, orgID, uploader, id uuid.UUID) (*userimport.Import, error) {
	return scanImport(s.db.pool.QueryRow(ctx, `SELECT `+importColumns+` FROM user_imports
		WHERE org_id = $1 AND uploaded_by = $2 AND id = $3 AND expires_at > $4`, orgID, uploader, id, s.db.Now()))
}

// ImportRows returns a page of an import's rows in file order: only those
// with problems when withErrors, else all. The import must be the
// uploader's (see FindImport).
func (s *UserImports) ImportRows(ctx context.Context, orgID, uploader, id uuid.UUID, withErrors bool, offset, limit int) ([]userimport.StagedRow, error) {
	filter := ""
	if withErrors {
		filter = "AND r.errors <> '[]'::jsonb"
	}
	rows, err := s.db.pool.Query(ctx, `SELECT r.row_no, r.action, COALESCE(r.user_id, '00000000-0000-0000-0000-000000000000'::uuid),
			COALESCE(r.first_name, ''), COALESCE(r.last_name, ''), COALESCE(r.email, ''), r.errors
		FROM user_import_rows r JOIN user_imports i ON i.id = r.import_id AND i.org_id = r.org_id
		WHERE i.org_id = $1 AND i.uploaded_by = $2 AND i.id = $3 `+filter+`
		ORDER BY r.row_no OFFSET $4 LIMIT $5`, orgID, uploader, id, offset, limit)
	if err != nil {
		return nil, pgError("list import rows", err)
	}
	var out []userimport.StagedRow
	var r userimport.StagedRow
	var action string
	var errs []byte
	_, err = pgx.ForEachRow(rows, []any{&r.Line, &action, &r.UserID, &r.FirstName, &r.LastName, &r.Email, &errs}, func() error {
		r.Action, r.Errors = userimport.Action(action), nil
		if err := json.Unmarshal(errs, &r.Errors); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	return out, pgError("list import rows", err)
}

// DiscardImport deletes a pending import of uploader's, with its rows.
func (s *UserImports) DiscardImport(ctx context.Context, orgID, uploader, id uuid.UUID) error {
	tag, err := s.db.pool.Exec(ctx, `DELETE FROM user_imports WHERE org_id = $1 AND uploaded_by = $2 AND id = $3 AND status = 'pending'`,
		orgID, uploader, id)
	if err != nil {
		return pgError("discard import", err)
	}
	if tag.RowsAffected() == 0 {
		return errImportNotFound
	}
	return nil
}

// ApplyImport applies a checked import, all of it or nothing, in one
// transaction: the checks run again on the locked users (users may have
// changed since the upload: then nothing is applied, the rows' new
// problems are stored and the error is ErrImportChanged), then deletes,
// deactivations, updates and creates are each one statement, and the audit
// log gets one event for the import and one per changed user. The staged
// rows are deleted; the import's summary stays until it expires.
// ENOTFOUND, ECONFLICT (applied already, ErrImportChanged), EINVALID (rows
// with problems).
func (s *UserImports) ApplyImport(ctx context.Context, actor Actor, orgID, id uuid.UUID) (*userimport.Import, error) {
	now := s.db.Now().UTC()
	tx, err := s.db.pool.Begin(ctx)
	if err != nil {
		return nil, pgError("apply import", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after commit
	// One import at a time per organisation: two files creating the same
	// email at once would otherwise both pass their checks.
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended('user_import:' || $1::text, 0))", orgID); err != nil {
		return nil, pgError("apply import", err)
	}
	imp, err := scanImport(tx.QueryRow(ctx, `SELECT `+importColumns+` FROM user_imports
		WHERE org_id = $1 AND uploaded_by = $2 AND id = $3 AND expires_at > $4 FOR UPDATE`, orgID, actor.UserID, id, now))
	switch {
	case err != nil:
		return nil, err
	case imp.Status == userimport.StatusApplied:
		return nil, errImportApplied
	case imp.Counts.WithErrors > 0:
		return nil, errImportHasErrors
	}
	if imp.Counts, err = s.check(ctx, tx, imp, now, true); err != nil {
		return nil, err
	}
	if imp.Counts.WithErrors > 0 {
		// Keep the new problems for the preview; no user has changed.
		if err := tx.Commit(ctx); err != nil {
			return nil, pgError("apply import", err)
		}
		return nil, ErrImportChanged
	}
	args := checkArgs(imp)
	args["now"] = now
	// Deletes first, so a person deleted and created again in one file
	// frees the CPR number and email before the create takes them.
	steps := []struct {
		what, sql string
		want      int
	}{
		{"delete person links", `DELETE FROM person_links p USING user_import_rows r
			WHERE r.import_id = @imp AND r.action = 'delete' AND p.org_id = @org AND p.user_id = r.user_id`, -1},
		{"delete activation tokens", `DELETE FROM activation_tokens a USING user_import_rows r
			WHERE r.import_id = @imp AND r.action = 'delete' AND a.org_id = @org AND a.user_id = r.user_id`, -1},
		// Deleting erases the personal data; the UUID stays, never reused.
		{"delete users", `UPDATE users u SET status = 'deleted', deleted_at = @now, first_name = '', last_name = '', email = '',
			phone = NULL, cpr_hmac = NULL, cpr_ciphertext = NULL, extra_fields = '{}', birth_date = NULL, version = u.version + 1
			FROM user_import_rows r
			WHERE r.import_id = @imp AND r.action = 'delete' AND u.org_id = @org AND u.id = r.user_id AND u.status <> 'deleted'`,
			imp.Counts.Deletions},
		{"deactivate users", `UPDATE users u SET status = 'deactivated', deactivated_at = @now, version = u.version + 1
			FROM user_import_rows r
			WHERE r.import_id = @imp AND r.action = 'deactivate' AND u.org_id = @org AND u.id = r.user_id AND u.status = 'active'`,
			imp.Counts.Deactivations},
		{"update users", `UPDATE users u SET first_name = ` + newFirstName + `, last_name = ` + newLastName + `, email = ` + newEmail + `,
			phone = ` + newPhone + `, birth_date = ` + newBirthDate + `, cpr_hmac = ` + newCPRHmac + `, cpr_ciphertext = ` + newCPRSealed + `,
			production_unit_id = ` + newUnit + `, se_number_id = ` + newSENumber + `, extra_fields = ` + newExtra + `, version = u.version + 1
			FROM user_import_rows r
			WHERE r.import_id = @imp AND r.action = 'update' AND r.after <> '{}' AND u.org_id = @org AND u.id = r.user_id AND u.status <> 'deleted'`,
			imp.Counts.Updates - imp.Counts.Unchanged},
		{"create users", `INSERT INTO users (id, org_id, first_name, last_name, email, phone, cpr_hmac, cpr_ciphertext, birth_date,
				production_unit_id, se_number_id, status, extra_fields, version)
			SELECT r.user_id, @org, r.first_name, r.last_name, r.email, NULLIF(r.phone, ''), r.cpr_hmac, r.cpr_ciphertext, r.birth_date,
				r.production_unit_id, r.se_number_id, 'pending',
				jsonb_strip_nulls(jsonb_build_object('employee_number', NULLIF(r.employee_number, ''), 'department', NULLIF(r.department, ''))), 1
			FROM user_import_rows r WHERE r.import_id = @imp AND r.action = 'create' ORDER BY r.row_no`,
			imp.Counts.Creates},
	}
	for _, st := range steps {
		tag, err := tx.Exec(ctx, st.sql, args)
		if err != nil {
			return nil, pgError(st.what, err)
		}
		if st.want >= 0 && tag.RowsAffected() != int64(st.want) {
			// A user was changed between the checks and this statement.
			return nil, errImportRaced
		}
	}
	if err := s.auditImport(ctx, tx, actor, imp, now); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, "DELETE FROM user_import_rows WHERE import_id = $1", imp.ID); err != nil {
		return nil, pgError("apply import", err)
	}
	if _, err := tx.Exec(ctx, "UPDATE user_imports SET status = 'applied', applied_at = $2 WHERE id = $1", imp.ID, now); err != nil {
		return nil, pgError("apply import", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, pgError("apply import", err)
	}
	imp.Status, imp.AppliedAt = userimport.StatusApplied, &now
	return imp, nil
}

// auditBatch is how many per-user audit events are built and copied at once.
const auditBatch = 2000

// auditImport appends the import's summary event and one event per changed
// user, in file order, to the organisation's audit chain.
func (s *UserImports) auditImport(ctx context.Context, tx pgx.Tx, actor Actor, imp *userimport.Import, now time.Time) error {
	chain, err := lockAuditChain(ctx, tx, &imp.OrgID, now)
	if err != nil {
		return err
	}
	extra := map[string]any{}
	if actor.Address != "" {
		extra["address"] = actor.Address
	}
	summary := actor.event(imp.OrgID, "user_import.applied", "user_import", imp.ID.String(), map[string]any{
		"file_name": imp.FileName, "file_sha256": fmt.Sprintf("%x", imp.SHA256), "rows": imp.Counts.Rows,
		"created": imp.Counts.Creates, "updated": imp.Counts.Updates - imp.Counts.Unchanged, "unchanged": imp.Counts.Unchanged,
		"deactivated": imp.Counts.Deactivations, "deleted": imp.Counts.Deletions,
	})
	// Details are hashed as jsonb gives them back (see appendAudit).
	var stored string
	if err := tx.QueryRow(ctx, "SELECT $1::jsonb::text", string(summary.Details)).Scan(&stored); err != nil {
		return pgError("normalise audit details", err)
	}
	summary.Details = json.RawMessage(stored)
	if err := chain.append(ctx, []*domain.AuditEvent{summary}); err != nil {
		return err
	}
	extraJSON, _ := json.Marshal(extra)
	// The per-user details are built as jsonb, so their text is already
	// what jsonb gives back.
	const q = `SELECT r.row_no, r.action, r.user_id, (CASE r.action
			WHEN 'create' THEN jsonb_build_object('after', jsonb_build_object('name', btrim(r.first_name || ' ' || r.last_name),
				'email', r.email, 'phone', COALESCE(NULLIF(r.phone, ''), ''),
				'identified_by', CASE WHEN r.cpr_hmac IS NULL THEN 'birth_date' ELSE 'cpr' END))
			WHEN 'update' THEN jsonb_build_object('before', r.before, 'after', r.after)
			ELSE jsonb_build_object('before', jsonb_build_object('status', r.user_status),
				'after', jsonb_build_object('status', CASE r.action WHEN 'deactivate' THEN 'deactivated' ELSE 'deleted' END))
			END || jsonb_build_object('import_id', r.import_id::text) || $3::jsonb)::text
		FROM user_import_rows r
		WHERE r.import_id = $1 AND r.row_no > $2 AND (r.action <> 'update' OR r.after <> '{}')
		ORDER BY r.row_no LIMIT $4`
	actions := map[string]string{"create": "user.created", "update": "user.updated", "deactivate": "user.deactivated", "delete": "user.deleted"}
	events := make([]*domain.AuditEvent, 0, auditBatch)
	for after := 0; ; {
		rows, err := tx.Query(ctx, q, imp.ID, after, string(extraJSON), auditBatch)
		if err != nil {
			return pgError("audit import", err)
		}
		events = events[:0]
		var line int
		var action, details string
		var userID uuid.UUID
		_, err = pgx.ForEachRow(rows, []any{&line, &action, &userID, &details}, func() error {
			e := actor.event(imp.OrgID, actions[action], "user", userID.String(), map[string]any{})
			e.Details = json.RawMessage(details)
			events = append(events, e)
			after = line
			return nil
		})
		if err != nil {
			return pgError("audit import", err)
		}
		if len(events) == 0 {
			break
		}
		if err := chain.append(ctx, events); err != nil {
			return err
		}
	}
	return chain.close(ctx)
}

// auditChain appends many events to one organisation's audit chain in one
// transaction: the head is locked once, hashes are chained in Go by the
// same rule as appendAudit (audit.Hash), and events are copied in batches.
type auditChain struct {
	tx   pgx.Tx
	key  uuid.UUID
	seq  int64
	prev []byte
	now  time.Time
	vals [][]any
}

func lockAuditChain(ctx context.Context, tx pgx.Tx, orgID *uuid.UUID, now time.Time) (*auditChain, error) {
	c := &auditChain{tx: tx, key: audit.ChainKey(orgID), now: now}
	if _, err := tx.Exec(ctx, `INSERT INTO audit_chain_heads (chain_key, seq, hash, updated_at) VALUES ($1, 0, $2, $3)
		ON CONFLICT DO NOTHING`, c.key, audit.Genesis, now); err != nil {
		return nil, pgError("audit chain head", err)
	}
	if err := tx.QueryRow(ctx, "SELECT seq, hash FROM audit_chain_heads WHERE chain_key = $1 FOR UPDATE", c.key).Scan(&c.seq, &c.prev); err != nil {
		return nil, pgError("audit chain head", err)
	}
	return c, nil
}

// append chains events, whose details are already in the form jsonb gives
// back, and copies them.
func (c *auditChain) append(ctx context.Context, events []*domain.AuditEvent) error {
	c.vals = c.vals[:0]
	for _, e := range events {
		if e.OccurredAt.IsZero() {
			e.OccurredAt = c.now
		}
		e.OccurredAt = audit.Truncate(e.OccurredAt)
		c.seq++
		e.Seq, e.PrevHash = c.seq, c.prev
		// Hash canonicalises the details as VerifyAudit will, from the
		// jsonb text stored here.
		var err error
		if e.Hash, err = audit.Hash(e.PrevHash, e); err != nil {
			return domain.Invalid("details", "audit.details", err.Error())
		}
		c.prev = e.Hash
		c.vals = append(c.vals, []any{e.OrgID, c.key, e.Seq, e.OccurredAt, e.ActorID, e.ActorLabel, e.Action, e.TargetType,
			e.TargetID, string(e.Details), e.RequestID, e.PrevHash, e.Hash})
	}
	_, err := c.tx.CopyFrom(ctx, pgx.Identifier{"audit_events"}, []string{"org_id", "chain_key", "seq", "occurred_at", "actor_id",
		"actor_label", "action", "target_type", "target_id", "details", "request_id", "prev_hash", "hash"}, pgx.CopyFromRows(c.vals))
	return pgError("append audit events", err)
}

func (c *auditChain) close(ctx context.Context) error {
	_, err := c.tx.Exec(ctx, "UPDATE audit_chain_heads SET seq = $2, hash = $3, updated_at = $4 WHERE chain_key = $1", c.key, c.seq, c.prev, c.now)
	return pgError("advance audit chain head", err)
}

// ExportUsers calls fn with every living user of the organisation, by
// name, streaming from the database so memory does not grow with the
// organisation. It returns how many users fn received.
func (s *UserImports) ExportUsers(ctx context.Context, orgID uuid.UUID, fn func(*userimport.Record) error) (int, error) {
	rows, err := s.db.pool.Query(ctx, `SELECT u.id, u.first_name, u.last_name, u.email, COALESCE(u.phone, ''),
			COALESCE(to_char(u.birth_date, 'YYYY-MM-DD'), ''), COALESCE(p.p_number, ''), COALESCE(s.se_number, ''),
			COALESCE(u.extra_fields->>'employee_number', ''), COALESCE(u.extra_fields->>'department', ''), u.status
		FROM users u
		LEFT JOIN production_units p ON p.org_id = u.org_id AND p.id = u.production_unit_id
		LEFT JOIN se_numbers s ON s.org_id = u.org_id AND s.id = u.se_number_id
		WHERE u.org_id = $1 AND u.status <> 'deleted'
		ORDER BY u.last_name, u.first_name, u.id`, orgID)
	if err != nil {
		return 0, pgError("export users", err)
	}
	var r userimport.Record
	n := 0
	_, err = pgx.ForEachRow(rows, []any{&r.UserID, &r.FirstName, &r.LastName, &r.Email, &r.Phone, &r.BirthDate, &r.PNumber, &r.SENumber,
		&r.EmployeeNumber, &r.Department, &r.Status}, func() error {
		n++
		return fn(&r)
	})
	return n, pgError("export users", err)
}
