package userimport

import (
	"encoding/csv"
	"io"
	"strings"

	"github.com/google/uuid"
)

// Record is one user as an export writes it. The CPR number is never
// exported: its cell stays empty, which on import means "unchanged", so an
// export can be edited and imported again.
type Record struct {
	UserID         uuid.UUID
	FirstName      string
	LastName       string
	Email          string
	Phone          string
	BirthDate      string // YYYY-MM-DD
	PNumber        string
	SENumber       string
	EmployeeNumber string
	Department     string
	Status         string // domain user status
}

// Writer writes users in the import format, for Danish Excel: UTF-8 with a
// byte order mark (without it Excel guesses the wrong encoding), ;
// between cells, CRLF line ends. Every row's action is update, so the file
// goes back in as it is; change a row's action to deactivate or delete it.
type Writer struct {
	csv  *csv.Writer
	lang string
	rec  []string
}

// NewWriter writes the byte order mark and the heading row in lang.
func NewWriter(w io.Writer, lang string) (*Writer, error) {
	if _, err := w.Write(bom); err != nil {
		return nil, err
	}
	cw := csv.NewWriter(w)
	cw.Comma, cw.UseCRLF = ';', true
	head := make([]string, len(Columns))
	for i, c := range Columns {
		head[i] = Heading(c, lang)
	}
	if err := cw.Write(head); err != nil {
		return nil, err
	}
	return &Writer{csv: cw, lang: lang, rec: make([]string, len(Columns))}, nil
}

// Write writes one user.
func (w *Writer) Write(r Record) error {
	w.rec = append(w.rec[:0], ActionLabel(Update, w.lang), r.UserID.String(), r.FirstName, r.LastName, r.Email, r.Phone, "",
		r.BirthDate, r.PNumber, r.SENumber, r.EmployeeNumber, r.Department, statusLabel(r.Status, w.lang))
	return w.csv.Write(guard(w.rec))
}

// Flush writes what is buffered and reports any error so far.
func (w *Writer) Flush() error {
	w.csv.Flush()
	return w.csv.Error()
}

// WriteTemplate writes the heading row and one example row, a user
// identified by date of birth (the template never holds a CPR number).
func WriteTemplate(w io.Writer, lang string) error {
	ew, err := NewWriter(w, lang)
	if err != nil {
		return err
	}
	example := []string{ActionLabel(Create, lang), "", "Anna", "Hansen", "anna.hansen@example.dk", "12345678", "",
		"1985-04-23", "", "", "1001", map[bool]string{true: "Sales", false: "Salg"}[lang == "en"], ""}
	if err := ew.csv.Write(example); err != nil {
		return err
	}
	return ew.Flush()
}

func statusLabel(status, lang string) string {
	if lang == "en" {
		return status
	}
	if s, ok := map[string]string{"pending": "afventer", "active": "aktiv", "deactivated": "deaktiveret"}[status]; ok {
		return s
	}
	return status
}

// guard neutralises cells a spreadsheet would read as a formula (those
// starting with =, +, -, @, a tab or a carriage return) with a leading ',
// which the reader removes again.
func guard(cells []string) []string {
	for i, s := range cells {
		if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
			cells[i] = "'" + s
		}
	}
	return cells
}
