package userimport_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/userimport"
)

var (
	unitID = uuid.MustParse("6f1c1f3e-8a37-4a44-9d1e-2c1a5e0f9b01")
	seID   = uuid.MustParse("6f1c1f3e-8a37-4a44-9d1e-2c1a5e0f9b02")
)

func rules(mandatory ...string) userimport.Rules {
	return userimport.Rules{
		MandatoryFields: mandatory,
		Units:           map[string]userimport.Unit{"1012345678": {ID: unitID, Active: true}, "1099999999": {ID: uuid.New()}},
		SENumbers:       map[string]userimport.Unit{"12345678": {ID: seID, Active: true}},
		Now:             time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC),
	}
}

// readAll reads every row of a file, failing on a file-level error.
func readAll(t *testing.T, file string, r userimport.Rules) (userimport.Header, []*userimport.Row) {
	t.Helper()
	rd, err := userimport.NewReader(strings.NewReader(file), r)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	var rows []*userimport.Row
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return rd.Header(), rows
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		rows = append(rows, row)
	}
}

// keys lists a row's errors as "column:key".
func keys(r *userimport.Row) []string {
	var out []string
	for _, e := range r.Errors {
		out = append(out, e.Column+":"+e.Key)
	}
	return out
}

func wantKeys(t *testing.T, r *userimport.Row, want ...string) {
	t.Helper()
	if got := keys(r); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("line %d errors: got %v, want %v", r.Line, got, want)
	}
}

func TestReaderAcceptsWhatExcelWrites(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file string
		delim      rune
	}{
		{"semicolon with BOM", "\ufeffhandling;fornavn;efternavn;email;fødselsdato\r\nopret;Anna;Hansen;anna@example.dk;23-04-1985\r\n", ';'},
		{"comma without BOM", "action,first_name,last_name,email,birth_date\nCreate,Anna,Hansen,anna@example.dk,1985-04-23\n", ','},
		{"quoted cell with the separator", "handling;fornavn;efternavn;email;fødselsdato\nopret;\"Anna; Marie\";Hansen;anna@example.dk;23.04.1985\n", ';'},
		{"headings in mixed case and spelling", "Handling;Fornavn;Efternavn;E-mail;Fødselsdato\nOPRET;Anna;Hansen;anna@example.dk;23/4/1985\n", ';'},
		{"empty rows of a formatted sheet", "handling;fornavn;efternavn;email;fødselsdato\n;;;;\nopret;Anna;Hansen;anna@example.dk;1985-04-23\n;;;;\n", ';'},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, rows := readAll(t, tt.file, rules())
			if h.Delimiter != tt.delim {
				t.Errorf("delimiter: got %q, want %q", h.Delimiter, tt.delim)
			}
			if len(rows) != 1 {
				t.Fatalf("rows: got %d, want 1", len(rows))
			}
			r := rows[0]
			wantKeys(t, r)
			if r.Action != userimport.Create || r.UserID == uuid.Nil {
				t.Errorf("action %q, id %v: want create with a new id", r.Action, r.UserID)
			}
			if *r.LastName != "Hansen" || !strings.HasPrefix(*r.FirstName, "Anna") || *r.Email != "anna@example.dk" {
				t.Errorf("fields: %q %q %q", *r.FirstName, *r.LastName, *r.Email)
			}
			if got := r.BirthDate.Format(time.DateOnly); got != "1985-04-23" {
				t.Errorf("birth date: got %s, want 1985-04-23", got)
			}
		})
	}
	t.Run("quoted separator stays in the cell", func(t *testing.T) {
		t.Parallel()
		_, rows := readAll(t, tests[2].file, rules())
		if got := *rows[0].FirstName; got != "Anna; Marie" {
			t.Errorf("first name: got %q, want %q", got, "Anna; Marie")
		}
	})
}

func TestReaderRefusesUnusableHeadings(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, file, key string }{
		{"empty", "", "empty"},
		{"only a BOM", "\ufeff\n", "empty"},
		{"unknown heading", "handling;fornavn;skostørrelse\n", "header_unknown"},
		{"repeated heading", "handling;email;e-mail\n", "header_repeated"},
		{"no action column", "fornavn;efternavn\n", "header_action"},
		{"not UTF-8", "handling;f\xf8dselsdato\n", "encoding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := userimport.NewReader(strings.NewReader(tt.file), rules())
			var fe *userimport.FileError
			if !errors.As(err, &fe) || fe.Key != tt.key {
				t.Fatalf("got %v, want a file error %q", err, tt.key)
			}
			if domain.ErrorCode(err) != domain.EINVALID {
				t.Errorf("code: got %q, want invalid", domain.ErrorCode(err))
			}
		})
	}
}

func TestReaderReportsEveryRowProblemAndGoesOn(t *testing.T) {
	t.Parallel()
	file := strings.Join([]string{
		"handling;uuid;fornavn;efternavn;email;telefon;cpr;fødselsdato;p_nummer;se_nummer",
		"opret;;Anna;Hansen;anna@example.dk;;;1985-04-23;;",                                 // 2: fine
		"flyt;;Bo;Berg;bo@example.dk;;;1985-04-23;;",                                        // 3: unknown action
		"opret;;Carl;Dam;carl@example.dk;;3213901234;;;",                                    // 4: CPR with no such date
		"opret;;Dina;Eg;dina@example.dk;;010190123;;;",                                      // 5: 9-digit CPR
		"opret;;Emil;Fog;emil@example.dk;;;;;;extra",                                        // 6: one cell too many
		"opret;;Frej;Gad;ikke-en-mail;12;;1985-04-23;;",                                     // 7: email and phone
		"opret;;Gry;\"Ho\"lm;gry@example.dk;;;1985-04-23;;",                                 // 8: stray quote
		"opret;;Hans;Ib;hans@example.dk;;;1985-04-23;1012345678;12345678",                   // 9: both units
		"opret;;Ida;Juul;ida@example.dk;;;1985-04-23;1099999999;",                           // 10: closed unit
		"opret;;Jens;Kure;jens@example.dk;;;1985-04-23;1000000000;",                         // 11: unknown unit
		"opdater;;Kim;Lund;kim@example.dk;;;;;",                                             // 12: update without uuid
		"slet;not-a-uuid;;;;;;;;",                                                           // 13: bad uuid
		"opret;" + uuid.NewString() + ";Lea;Mik;lea@example.dk;;;1985-04-23;;",              // 14: uuid on create
		"opret;;<b>Mia</b>;Nør;mia@example.dk;;0101901234;1990-01-02;;",                     // 15: birth date ≠ CPR
		"opret;;;Ole;ole@example.dk;;;1879-12-31;;",                                         // 16: no first name, too old
		"opret;;Per;Qvist;per@example.dk;+45 12 34 56 78;0101901234;01-01-1990;1012345678;", // 17: fine
		"opret;;Rie;Sand;rie@example.dk;;;;;",                                               // 18: no CPR, no birth date
		"deaktiver;" + uuid.NewString() + ";<script>;;;;;;;",                                // 19: fine, name ignored
	}, "\n")
	_, rows := readAll(t, file, rules())
	if len(rows) != 18 {
		t.Fatalf("rows: got %d, want 18", len(rows))
	}
	byLine := map[int]*userimport.Row{}
	for _, r := range rows {
		byLine[r.Line] = r
	}
	want := map[int][]string{
		2:  nil,
		3:  {"action:action_unknown"},
		4:  {"cpr:cpr.date"},
		5:  {"cpr:cpr_leading_zero"},
		6:  {":field_count"},
		7:  {"email:email.format", "phone:phone.format"},
		8:  {":quotes"},
		9:  {"se_number:one_unit"},
		10: {"p_number:p_number_closed"},
		11: {"p_number:p_number_unknown"},
		12: {"uuid:uuid_missing"},
		13: {"uuid:uuid_format"},
		14: {"uuid:uuid_on_create"},
		15: {"birth_date:user.birth_date_cpr"},
		16: {"first_name:user.first_name", "birth_date:user.birth_date_range"},
		17: nil,
		18: {"birth_date:user.birth_date_required"},
		19: nil,
	}
	for line, w := range want {
		r, ok := byLine[line]
		if !ok {
			t.Errorf("line %d: not read", line)
			continue
		}
		wantKeys(t, r, w...)
	}
	// A CPR number never comes back in an error.
	for _, r := range rows {
		for _, e := range r.Errors {
			if strings.Contains(e.Message, "3213901234") || strings.Contains(e.Message, "010190123") || strings.Contains(e.Message, "0101901234") {
				t.Errorf("line %d: message repeats a CPR number: %q", r.Line, e.Message)
			}
		}
	}
	per := byLine[17]
	if per.CPR != "0101901234" || per.BirthDate.Format(time.DateOnly) != "1990-01-01" || *per.Phone != "+4512345678" || *per.ProductionUnitID != unitID {
		t.Errorf("line 17: cpr ok %v, birth %s, phone %q, unit %v", per.CPR == "0101901234", per.BirthDate.Format(time.DateOnly), *per.Phone, per.ProductionUnitID)
	}
	if byLine[4].CPR != "" || byLine[5].CPR != "" {
		t.Error("a rejected CPR number was kept on the row")
	}
	if got := *byLine[15].FirstName; got != "<b>Mia</b>" {
		t.Errorf("markup: got %q, want it kept as text", got)
	}
	if r := byLine[3]; r.FirstName == nil || *r.FirstName != "Bo" {
		t.Errorf("a row with an unknown action keeps no name for the preview: %v", r.FirstName)
	}
	if r := byLine[19]; r.Action != userimport.Deactivate || r.FirstName != nil {
		t.Errorf("deactivate row: action %q, first name read %v", r.Action, r.FirstName != nil)
	}
}

func TestReaderLineNumbersFollowTheFile(t *testing.T) {
	t.Parallel()
	file := "handling;fornavn;efternavn;email;fødselsdato\n" +
		"opret;\"Anna\nMarie\";Hansen;anna@example.dk;1985-04-23\n" + // lines 2–3
		"\n" + // 4: blank
		"opret;Bo;Berg;x;1985-04-23\n" // 5
	_, rows := readAll(t, file, rules())
	if len(rows) != 2 {
		t.Fatalf("rows: got %d, want 2", len(rows))
	}
	if rows[0].Line != 2 || rows[1].Line != 5 {
		t.Errorf("lines: got %d and %d, want 2 and 5", rows[0].Line, rows[1].Line)
	}
	wantKeys(t, rows[0], "first_name:control")
	wantKeys(t, rows[1], "email:email.format")
}

func TestReaderUpdateLeavesMissingColumnsAlone(t *testing.T) {
	t.Parallel()
	id := uuid.New()
	_, rows := readAll(t, "handling;uuid;email;telefon\nopdater;"+id.String()+";ny@example.dk;\n", rules())
	r := rows[0]
	wantKeys(t, r)
	if r.Action != userimport.Update || r.UserID != id {
		t.Fatalf("got %q %v, want update of %v", r.Action, r.UserID, id)
	}
	if r.FirstName != nil || r.LastName != nil || r.Department != nil {
		t.Error("columns the file lacks were read as given")
	}
	if r.Phone == nil || *r.Phone != "" {
		t.Errorf("phone: got %v, want an empty value (remove)", r.Phone)
	}
	if !r.BirthDate.IsZero() || r.CPR != "" {
		t.Error("update without CPR and birth date changed the identity")
	}
	// Creating needs the name and email columns.
	_, rows = readAll(t, "handling;email;fødselsdato\nopret;a@example.dk;1985-04-23\n", rules())
	wantKeys(t, rows[0], "first_name:column_missing", "last_name:column_missing")
}

func TestReaderAppliesMandatoryFields(t *testing.T) {
	t.Parallel()
	head := "handling;uuid;fornavn;efternavn;email;telefon;fødselsdato;p_nummer;medarbejdernummer;afdeling\n"
	_, rows := readAll(t, head+
		"opret;;Anna;Hansen;anna@example.dk;;1985-04-23;;;\n"+
		"opret;;Bo;Berg;bo@example.dk;12345678;1985-04-23;1012345678;7;Salg\n"+
		"opdater;"+uuid.NewString()+";Cai;Dam;cai@example.dk;;;;;\n",
		rules("phone", "production_unit", "employee_number", "department"))
	wantKeys(t, rows[0], "p_number:p_number_required", "phone:user.phone_required", "employee_number:user.employee_number_required",
		"department:user.department_required")
	wantKeys(t, rows[1])
	if got := *rows[1].EmployeeNumber; got != "7" {
		t.Errorf("employee number: got %q", got)
	}
	wantKeys(t, rows[2], "p_number:p_number_required", "phone:user.phone_required", "employee_number:user.employee_number_required",
		"department:user.department_required")
	// An update whose file lacks the columns leaves them as they are.
	_, rows = readAll(t, "handling;uuid;fornavn\nopdater;"+uuid.NewString()+";Dan\n", rules("phone", "production_unit", "department"))
	wantKeys(t, rows[0])
}

func TestReaderStopsAtTooManyRows(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	b.WriteString("handling;uuid\n")
	id := uuid.NewString()
	for i := 0; i <= userimport.MaxRows; i++ {
		fmt.Fprintf(&b, "slet;%s\n", id)
	}
	rd, err := userimport.NewReader(&b, rules())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err = rd.Next()
		if err != nil {
			break
		}
		n++
	}
	var fe *userimport.FileError
	if !errors.As(err, &fe) || fe.Key != "too_many_rows" || n != userimport.MaxRows {
		t.Errorf("after %d rows: %v, want too_many_rows after %d", n, err, userimport.MaxRows)
	}
}

func TestExportReadsBackUnchanged(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"da", "en"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			w, err := userimport.NewWriter(&b, lang)
			if err != nil {
				t.Fatal(err)
			}
			rec := userimport.Record{UserID: uuid.New(), FirstName: "=HYPERLINK(\"x\")", LastName: "Ærø; Ås", Email: "a@example.dk",
				Phone: "+4512345678", BirthDate: "1985-04-23", PNumber: "1012345678", EmployeeNumber: "-7", Department: "@salg", Status: "active"}
			if err := w.Write(rec); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if !strings.HasPrefix(out, "\ufeff") || !strings.Contains(out, "\r\n") {
				t.Errorf("want a BOM and CRLF lines: %q", out)
			}
			if strings.Contains(out, ";=") || strings.Contains(out, ";+") || strings.Contains(out, ";@") || strings.Contains(out, ";-") {
				t.Errorf("a cell starts like a formula: %q", out)
			}
			h, rows := readAll(t, out, rules())
			if h.Label(userimport.ColFirstName) != userimport.Heading(userimport.ColFirstName, lang) {
				t.Errorf("heading: got %q", h.Label(userimport.ColFirstName))
			}
			r := rows[0]
			wantKeys(t, r)
			if r.Action != userimport.Update || r.UserID != rec.UserID || *r.FirstName != rec.FirstName || *r.LastName != rec.LastName ||
				*r.Phone != rec.Phone || *r.EmployeeNumber != "-7" || *r.Department != "@salg" || *r.ProductionUnitID != unitID || r.CPR != "" {
				t.Errorf("read back: %+v", r)
			}
		})
	}
}

func TestTemplateIsAValidFile(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"da", "en"} {
		var b bytes.Buffer
		if err := userimport.WriteTemplate(&b, lang); err != nil {
			t.Fatal(err)
		}
		_, rows := readAll(t, b.String(), rules())
		if len(rows) != 1 || rows[0].Action != userimport.Create {
			t.Fatalf("%s template: %d rows", lang, len(rows))
		}
		wantKeys(t, rows[0])
	}
}
