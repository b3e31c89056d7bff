package userimport

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
)

// Row is one data row of a file, read and checked. Nil string fields are
// columns the file does not have: on update they leave the user's value as
// it is. Rows with Errors are stored too, so the preview can show them.
type Row struct {
	// Line is the row's number as a spreadsheet or text editor shows it
	// (the heading row is 1).
	Line   int
	Action Action // "" when the action cell could not be read
	// UserID is the user the row is about; for Create it is the new user's
	// professional UUID, made here.
	UserID    uuid.UUID
	FirstName *string
	LastName  *string
	Email     *string
	Phone     *string // "" removes the phone number
	// CPR is the checked CPR number, only in memory: storage keeps a keyed
	// hash and a sealed copy, never this.
	CPR              string
	BirthDate        time.Time // zero: not given (on update: unchanged)
	ProductionUnitID *uuid.UUID
	SENumberID       *uuid.UUID
	EmployeeNumber   *string // "" removes it
	Department       *string // "" removes it
	Errors           []RowError
}

// HasErrors reports whether the row has any problem.
func (r *Row) HasErrors() bool { return len(r.Errors) > 0 }

func (r *Row) fail(col, key, msg string) {
	r.Errors = append(r.Errors, RowError{Column: col, Key: key, Message: msg})
}

// Header is the file's heading row.
type Header struct {
	// Columns holds each column's canonical name, by position; "" for a
	// column that is read and ignored (status).
	Columns []string
	// Labels are the headings as the file wrote them.
	Labels    []string
	Delimiter rune
	index     map[string]int
}

// Has reports whether the file has column col.
func (h Header) Has(col string) bool {
	_, ok := h.index[col]
	return ok
}

// Label is col's heading as the file wrote it, "" when the file lacks it.
func (h Header) Label(col string) string {
	if i, ok := h.index[col]; ok {
		return h.Labels[i]
	}
	return ""
}

// Reader reads a file row by row. It holds one row at a time.
type Reader struct {
	csv    *csv.Reader
	header Header
	rules  Rules
	rows   int
}

var bom = []byte{0xEF, 0xBB, 0xBF}

// NewReader reads the heading row of a file: UTF-8 with or without a byte
// order mark, columns separated by ; or , (whichever the heading row uses
// more of, as Danish Excel writes ; and most other tools ,). A heading row
// it cannot use is a *FileError.
func NewReader(r io.Reader, rules Rules) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, bom) {
		_, _ = br.Discard(3)
	}
	line, err := peekLine(br)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return nil, fileError("empty", "", "The file is empty; the first row must hold the column headings.")
	}
	if !utf8.Valid(line) {
		return nil, fileError("encoding", "", "The file is not UTF-8. In Excel, save it as \"CSV UTF-8\".")
	}
	delim := detectDelimiter(line)
	cr := csv.NewReader(br)
	cr.Comma = delim
	cr.ReuseRecord = true
	labels, err := cr.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, fileError("header_quotes", "", "The heading row has a misplaced quotation mark.")
		}
		return nil, err
	}
	h := Header{Labels: slices.Clone(labels), Columns: make([]string, len(labels)), Delimiter: delim, index: map[string]int{}}
	var unknown []string
	for i, l := range h.Labels {
		h.Labels[i] = strings.TrimSpace(l)
		col, ok := aliases[normalizeHeading(l)]
		switch {
		case !ok:
			unknown = append(unknown, h.Labels[i])
			continue
		case col == ColStatus:
			continue // written by the export, ignored
		}
		if _, seen := h.index[col]; seen {
			return nil, fileError("header_repeated", h.Labels[i], "The column %q appears twice in the heading row.", h.Labels[i])
		}
		h.index[col], h.Columns[i] = i, col
	}
	if len(unknown) > 0 {
		list := strings.Join(unknown, ", ")
		return nil, fileError("header_unknown", list, "Unknown column heading(s): %s. Use the headings of the template.", list)
	}
	if !h.Has(ColAction) {
		return nil, fileError("header_action", "", "The file has no column \"handling\" (or \"action\"); the first row must hold the column headings of the template.")
	}
	cr.FieldsPerRecord = len(labels)
	return &Reader{csv: cr, header: h, rules: rules}, nil
}

// peekLine returns the first line without consuming it (at most the
// buffer's size: a heading row is short).
func peekLine(br *bufio.Reader) ([]byte, error) {
	for n := 512; ; n *= 2 {
		if n > br.Size() {
			n = br.Size()
		}
		b, err := br.Peek(n)
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			return b[:i], nil
		}
		switch {
		case errors.Is(err, io.EOF):
			return b, nil
		case err != nil && !errors.Is(err, bufio.ErrBufferFull):
			return nil, err
		case n == br.Size():
			return nil, fileError("header_long", "", "The first row is too long to be a heading row.")
		}
	}
}

// detectDelimiter counts ; and , outside quotes.
func detectDelimiter(line []byte) rune {
	semi, comma, quoted := 0, 0, false
	for _, c := range line {
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == ';':
			semi++
		case c == ',':
			comma++
		}
	}
	if comma > semi {
		return ','
	}
	return ';'
}

// Header is the file's heading row.
func (r *Reader) Header() Header { return r.header }

// Next reads and checks the next data row; io.EOF after the last. Rows
// whose cells are all empty (Excel writes them for formatted but empty rows)
// are skipped. A row that cannot be parsed (wrong number of cells, a stray
// quotation mark) is returned with its error, and reading goes on. Any
// other error (reading the upload failed, the file is too large, too many
// rows) ends the file.
func (r *Reader) Next() (*Row, error) {
	for {
		rec, err := r.csv.Read()
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			return nil, err
		}
		if pe == nil && allEmpty(rec) {
			continue
		}
		r.rows++
		if r.rows > MaxRows {
			return nil, fileError("too_many_rows", fmt.Sprint(MaxRows), "The file has more than %d rows; split it into several files.", MaxRows)
		}
		if pe != nil {
			row := &Row{Line: pe.StartLine}
			if errors.Is(pe.Err, csv.ErrFieldCount) {
				row.Errors = []RowError{{Key: "field_count",
					Message: "The row has another number of cells than the heading row. Look for a separator inside a cell (enclose that cell in quotation marks) or a cell too many or too few."}}
			} else {
				row.Errors = []RowError{{Key: "quotes", Message: "The row has a misplaced quotation mark: a cell with \" must be enclosed in quotation marks and each \" doubled."}}
			}
			return row, nil
		}
		line, _ := r.csv.FieldPos(0)
		return r.check(line, rec), nil
	}
}

func allEmpty(rec []string) bool {
	for _, s := range rec {
		if strings.TrimSpace(s) != "" {
			return false
		}
	}
	return true
}

// cell is one column's value: trimmed, a formula guard (a leading ' before
// = + - @, as exports write it) removed. ok is false when the file lacks the
// column.
func (r *Reader) cell(row *Row, rec []string, col string) (string, bool) {
	i, ok := r.header.index[col]
	if !ok {
		return "", false
	}
	s := strings.TrimSpace(rec[i])
	if len(s) > 1 && s[0] == '\'' && strings.ContainsRune("=+-@", rune(s[1])) {
		s = s[1:]
	}
	switch {
	case !utf8.ValidString(s):
		row.fail(col, "encoding_cell", "The cell is not UTF-8 text. In Excel, save the file as \"CSV UTF-8\".")
		return "", true
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		row.fail(col, "control", "The cell holds a line break or another control character; remove it.")
		return "", true
	}
	return s, true
}

// raw is a column's trimmed text, unchecked; nil when the file lacks it.
func (r *Reader) raw(rec []string, col string) *string {
	i, ok := r.header.index[col]
	if !ok {
		return nil
	}
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(strings.TrimSpace(rec[i]), "\uFFFD"))
	return &s
}

func (r *Reader) check(line int, rec []string) *Row {
	row := &Row{Line: line}
	act, _ := r.cell(row, rec, ColAction)
	switch a, ok := actionNames[strings.ToLower(act)]; {
	case row.HasErrors():
		// the cell could not be read: said already
	case act == "":
		row.fail(ColAction, "action_missing", "Write what to do with the row: opret, opdater, deaktiver or slet (create, update, deactivate, delete).")
	case !ok:
		row.fail(ColAction, "action_unknown", "Unknown action; write opret, opdater, deaktiver or slet (create, update, deactivate, delete).")
	default:
		row.Action = a
	}
	id, hasID := r.cell(row, rec, ColUUID)
	switch {
	case row.Action == "":
		// Kept only so the preview can say whose row it is.
		row.FirstName, row.LastName, row.Email = r.raw(rec, ColFirstName), r.raw(rec, ColLastName), r.raw(rec, ColEmail)
		return row
	case row.Action == Create && id != "":
		row.fail(ColUUID, "uuid_on_create", "Leave the UUID empty when creating a user: the platform gives the new user one.")
	case row.Action == Create:
		row.UserID = uuid.New()
	case !hasID:
		row.fail(ColUUID, "column_missing", "The file has no UUID column, which this action needs.")
	case id == "":
		row.fail(ColUUID, "uuid_missing", "Write the UUID of the user (from the export or the user's page).")
	default:
		u, err := uuid.Parse(id)
		if err != nil {
			row.fail(ColUUID, "uuid_format", "This is not a UUID; copy it from the export or the user's page.")
		} else {
			row.UserID = u
		}
	}
	if row.Action == Create || row.Action == Update {
		r.checkPerson(row, rec)
	}
	return row
}

// checkPerson reads and checks the person's fields with the same rules as
// the user form (domain.User.Validate). On update a column the file lacks,
// or an empty CPR or birth date, leaves the stored value.
func (r *Reader) checkPerson(row *Row, rec []string) {
	create := row.Action == Create
	text := func(col string, maxLen int) *string {
		v, ok := r.cell(row, rec, col)
		if !ok {
			if create && (col == ColFirstName || col == ColLastName || col == ColEmail) {
				row.fail(col, "column_missing", "The file has no column for this field, which creating a user needs.")
			}
			return nil
		}
		if maxLen > 0 && utf8.RuneCountInString(v) > maxLen {
			row.fail(col, "too_long", fmt.Sprintf("At most %d characters.", maxLen))
		}
		return &v
	}
	row.FirstName, row.LastName, row.Email = text(ColFirstName, 0), text(ColLastName, 0), text(ColEmail, 0)
	row.EmployeeNumber, row.Department = text(ColEmployeeNumber, 100), text(ColDepartment, 100)
	if v, ok := r.cell(row, rec, ColPhone); ok {
		v = domain.NormalizeDigits(v)
		row.Phone = &v
	}
	probe := domain.User{Status: domain.UserPending, FirstName: "-", LastName: "-", Email: "placeholder@example.dk"}
	if row.FirstName != nil {
		probe.FirstName = *row.FirstName
	}
	if row.LastName != nil {
		probe.LastName = *row.LastName
	}
	if row.Email != nil {
		probe.Email = *row.Email
	}
	if row.Phone != nil {
		probe.Phone = *row.Phone
	}
	cprCol := false
	if v, ok := r.cell(row, rec, ColCPR); ok {
		v = domain.NormalizeDigits(v)
		cprCol = true
		if len(v) == 9 && strings.Trim(v, "0123456789") == "" {
			// The message never repeats the number.
			row.fail(ColCPR, "cpr_leading_zero", "A CPR number has 10 digits; with 9, a spreadsheet has probably dropped a leading 0. Format the column as text and write the number again.")
		} else {
			probe.CPR = v
		}
	}
	if v, ok := r.cell(row, rec, ColBirthDate); ok && v != "" {
		if d, ok := parseDate(v); ok {
			probe.BirthDate = d
		} else {
			row.fail(ColBirthDate, "user.birth_date_format", "Write the date of birth as YYYY-MM-DD (or DD-MM-YYYY), e.g. 1985-04-23.")
		}
	}
	if !create && probe.CPR == "" && probe.BirthDate.IsZero() {
		probe.HasCPR = true // neither given: the stored identity stays
	}
	if create && !cprCol && !r.header.Has(ColBirthDate) {
		row.fail(ColCPR, "column_missing_identity", "The file has neither a CPR column nor a date of birth column; creating a user needs one of them.")
	}
	var ve domain.ValidationErrors
	errors.As(probe.Validate(), &ve)
	for _, e := range ve {
		col := map[string]string{"first_name": ColFirstName, "last_name": ColLastName, "email": ColEmail, "phone": ColPhone,
			"cpr": ColCPR, "birth_date": ColBirthDate}[e.Field]
		if col == "" || (!r.header.Has(col) && !(col == ColBirthDate && create)) {
			continue // a placeholder's, or a column the file lacks
		}
		if slices.ContainsFunc(row.Errors, func(x RowError) bool { return x.Column == col }) {
			continue // the cell could not be read: said already
		}
		if col == ColBirthDate && e.Key == "user.birth_date_required" && slices.ContainsFunc(row.Errors, func(x RowError) bool {
			return x.Key == "cpr_leading_zero" || x.Key == "user.birth_date_format" || x.Key == "column_missing_identity"
		}) {
			continue // already said
		}
		row.fail(col, e.Key, e.Message)
	}
	if probe.CPR != "" && !slices.ContainsFunc(row.Errors, func(x RowError) bool { return x.Column == ColCPR }) {
		row.CPR = probe.CPR
	}
	if !slices.ContainsFunc(row.Errors, func(x RowError) bool { return x.Column == ColBirthDate || x.Column == ColCPR }) {
		row.BirthDate = probe.BirthDate // from the CPR when one was given
	}
	r.checkUnits(row, rec)
	r.checkMandatory(row, create)
}

// parseDate accepts ISO dates and the Danish day-first forms a spreadsheet
// writes (23-04-1985, 23.04.1985, 23/4/1985).
func parseDate(s string) (time.Time, bool) {
	for _, layout := range []string{time.DateOnly, "2-1-2006", "2.1.2006", "2/1/2006"} {
		if d, err := time.Parse(layout, s); err == nil {
			return d, true
		}
	}
	return time.Time{}, false
}

func (r *Reader) checkUnits(row *Row, rec []string) {
	p, hasP := r.cell(row, rec, ColPNumber)
	se, hasSE := r.cell(row, rec, ColSENumber)
	p, se = domain.NormalizeDigits(p), domain.NormalizeDigits(se)
	if p != "" && se != "" {
		row.fail(ColSENumber, "one_unit", "A user is tied to a P-number or an SE-number, not both; leave one of them empty.")
		return
	}
	lookup := func(col, v string, validate func(string, string) error, units map[string]Unit) *uuid.UUID {
		if err := validate(col, v); err != nil {
			row.fail(col, domain.ErrorKey(err), domain.ErrorMessage(err))
			return nil
		}
		u, ok := units[v]
		switch {
		case !ok:
			row.fail(col, col+"_unknown", "The organisation has no such number; see the organisation's production units and SE-numbers.")
			return nil
		case !u.Active:
			row.fail(col, col+"_closed", "This number is closed; choose an active one.")
			return nil
		}
		return &u.ID
	}
	if hasP && p != "" {
		row.ProductionUnitID = lookup(ColPNumber, p, domain.ValidatePNumber, r.rules.Units)
	}
	if hasSE && se != "" {
		row.SENumberID = lookup(ColSENumber, se, domain.ValidateSENumber, r.rules.SENumbers)
	}
}

// checkMandatory applies the organisation's mandatory fields: on create
// always, on update to the columns the file has (a missing column leaves
// the stored value).
func (r *Reader) checkMandatory(row *Row, create bool) {
	missing := func(v *string) bool { return (v == nil && create) || (v != nil && *v == "") }
	needP := slices.Contains(r.rules.MandatoryFields, "production_unit")
	needSE := slices.Contains(r.rules.MandatoryFields, "se_number")
	noP := row.ProductionUnitID == nil && (create || r.header.Has(ColPNumber))
	noSE := row.SENumberID == nil && (create || r.header.Has(ColSENumber))
	switch {
	case slices.ContainsFunc(row.Errors, func(x RowError) bool { return x.Column == ColPNumber || x.Column == ColSENumber }):
		// already said
	case needP && needSE:
		// A user is tied to one of them: either satisfies both.
		if noP && noSE {
			row.fail(ColPNumber, "unit_required", "The organisation requires a P-number or an SE-number.")
		}
	case needP && noP:
		row.fail(ColPNumber, "p_number_required", "The organisation requires a P-number.")
	case needSE && noSE:
		row.fail(ColSENumber, "se_number_required", "The organisation requires an SE-number.")
	}
	for _, f := range r.rules.MandatoryFields {
		switch f {
		case "phone":
			if missing(row.Phone) {
				row.fail(ColPhone, "user.phone_required", "The organisation requires a phone number.")
			}
		case "employee_number":
			if missing(row.EmployeeNumber) {
				row.fail(ColEmployeeNumber, "user.employee_number_required", "The organisation requires an employee number.")
			}
		case "department":
			if missing(row.Department) {
				row.fail(ColDepartment, "user.department_required", "The organisation requires a department.")
			}
		}
	}
}
