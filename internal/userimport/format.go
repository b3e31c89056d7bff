// Package userimport is the CSV file format in which administrators create,
// update, deactivate and delete users in bulk, and in which users are
// exported: the columns and their Danish and English headings, the reading
// and checking of a file row by row (streaming, so memory does not grow with
// the file), and the writing of exports and the template. It knows nothing
// of storage: the checks that need the database (does the UUID exist, is the
// email taken) belong to the postgres adapter. docs/IMPORT.md describes the
// format for the people who fill it in.
package userimport

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
)

// Limits of one file.
const (
	// MaxFileBytes is the largest file accepted (50 MB).
	MaxFileBytes = 50 << 20
	// MaxRows is the most data rows one file may hold.
	MaxRows = 200_000
)

// Action is what a row does to a user.
type Action string

// Actions, as stored. A file may spell them in Danish or English.
const (
	Create     Action = "create"
	Update     Action = "update"
	Deactivate Action = "deactivate"
	Delete     Action = "delete"
)

var actionNames = map[string]Action{
	"opret": Create, "create": Create,
	"opdater": Update, "opdatér": Update, "update": Update,
	"deaktiver": Deactivate, "deaktivér": Deactivate, "deactivate": Deactivate,
	"slet": Delete, "delete": Delete,
}

// ActionLabel is the action as a file in lang spells it.
func ActionLabel(a Action, lang string) string {
	if lang == "en" {
		return string(a)
	}
	return map[Action]string{Create: "opret", Update: "opdater", Deactivate: "deaktiver", Delete: "slet"}[a]
}

// Canonical column names. Status is written by the export and ignored on
// import.
const (
	ColAction         = "action"
	ColUUID           = "uuid"
	ColFirstName      = "first_name"
	ColLastName       = "last_name"
	ColEmail          = "email"
	ColPhone          = "phone"
	ColCPR            = "cpr"
	ColBirthDate      = "birth_date"
	ColPNumber        = "p_number"
	ColSENumber       = "se_number"
	ColEmployeeNumber = "employee_number"
	ColDepartment     = "department"
	ColStatus         = "status"
)

// Columns are the columns of an export and of the template, in order.
var Columns = []string{ColAction, ColUUID, ColFirstName, ColLastName, ColEmail, ColPhone, ColCPR, ColBirthDate,
	ColPNumber, ColSENumber, ColEmployeeNumber, ColDepartment, ColStatus}

// headings are the column headings an export writes, per language.
var headings = map[string]map[string]string{
	"da": {
		ColAction: "handling", ColUUID: "uuid", ColFirstName: "fornavn", ColLastName: "efternavn", ColEmail: "email",
		ColPhone: "telefon", ColCPR: "cpr", ColBirthDate: "fødselsdato", ColPNumber: "p_nummer", ColSENumber: "se_nummer",
		ColEmployeeNumber: "medarbejdernummer", ColDepartment: "afdeling", ColStatus: "status",
	},
	"en": {
		ColAction: "action", ColUUID: "uuid", ColFirstName: "first_name", ColLastName: "last_name", ColEmail: "email",
		ColPhone: "phone", ColCPR: "cpr", ColBirthDate: "birth_date", ColPNumber: "p_number", ColSENumber: "se_number",
		ColEmployeeNumber: "employee_number", ColDepartment: "department", ColStatus: "status",
	},
}

// Heading is a column's heading in lang ("da" for anything but "en").
func Heading(col, lang string) string {
	if lang != "en" {
		lang = "da"
	}
	return headings[lang][col]
}

// aliases maps a normalised heading to its column. Both languages' headings
// are accepted whatever the reader's language, and a few spellings people
// type by hand.
var aliases = func() map[string]string {
	m := map[string]string{
		"id": ColUUID, "firstname": ColFirstName, "lastname": ColLastName, "e_mail": ColEmail, "mail": ColEmail,
		"telefonnummer": ColPhone, "tlf": ColPhone, "cpr_nummer": ColCPR, "cpr_number": ColCPR, "cpr_nr": ColCPR,
		"birthdate": ColBirthDate, "date_of_birth": ColBirthDate, "pnummer": ColPNumber, "p_nr": ColPNumber,
		"senummer": ColSENumber, "se_nr": ColSENumber, "medarbejdernr": ColEmployeeNumber,
	}
	for _, hs := range headings {
		for col, h := range hs {
			m[normalizeHeading(h)] = col
		}
	}
	return m
}()

// normalizeHeading folds case and treats spaces, hyphens and dots as
// underscores, so "P-nummer", "p nummer" and "p_nummer" are one heading.
func normalizeHeading(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '\u00a0':
			return '_'
		}
		return r
	}, h)
}

// Rules are what the checks of one organisation need to know.
type Rules struct {
	// MandatoryFields are the organisation's mandatory user fields
	// (domain.MandatoryUserFieldNames).
	MandatoryFields []string
	// Units are the organisation's production units by P-number, SENumbers
	// its SE-numbers by number.
	Units     map[string]Unit
	SENumbers map[string]Unit
	// Now is today, for the birth date's range.
	Now time.Time
}

// Unit is a production unit or SE-number a row may tie a user to.
type Unit struct {
	ID     uuid.UUID
	Active bool
}

// RowError is one problem with one row: the column at fault (canonical
// name; "" for the row as a whole), a message key the portal translates
// (err.import.<key>, then err.<key>) and the English message for anyone
// else. Row names another row the problem involves (a duplicate), Status a
// user's status.
type RowError struct {
	Column  string `json:"c"`
	Key     string `json:"k"`
	Message string `json:"m"`
	Row     int    `json:"r,omitempty"`
	Status  string `json:"s,omitempty"`
}

// FileError is a problem with the file as a whole (its heading row, its size,
// its encoding): nothing of it is stored. Arg is the value the message is
// about (a heading, a number), inserted where the translation says {arg}.
// It is an EINVALID domain error.
type FileError struct {
	Key     string
	Arg     string
	Message string
}

func (e *FileError) Error() string { return "invalid: " + e.Message }

// As lets domain.ErrorCode and friends see an EINVALID *domain.Error.
func (e *FileError) As(target any) bool {
	if t, ok := target.(**domain.Error); ok {
		*t = &domain.Error{Code: domain.EINVALID, Key: "import." + e.Key, Message: e.Message}
		return true
	}
	return false
}

func fileError(key, arg, format string, args ...any) *FileError {
	return &FileError{Key: key, Arg: arg, Message: fmt.Sprintf(format, args...)}
}

// ErrTooLarge is returned when a file exceeds MaxFileBytes.
var ErrTooLarge = fileError("too_large", fmt.Sprint(MaxFileBytes>>20), "The file is larger than %d MB; split it into several files.", MaxFileBytes>>20)

// IsFileError reports whether err is a problem with the file itself.
func IsFileError(err error) bool {
	var fe *FileError
	return errors.As(err, &fe)
}
