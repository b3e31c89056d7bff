package portal

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/web/pages"
)

func (p *Portal) now() time.Time { return time.Now() }

func compareFold(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) }

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only ever called with maps of plain values
	}
	return b
}

// activityLines shows audit events as lines of "when, what, who".
func activityLines(lang string, events []*domain.AuditEvent) []pages.ActivityLine {
	out := make([]pages.ActivityLine, 0, len(events))
	for _, e := range events {
		out = append(out, pages.ActivityLine{When: e.OccurredAt.In(domain.DanishTime).Format("02-01-2006 15:04"),
			What: textOr(lang, "audit.action."+e.Action, e.Action), Who: e.ActorLabel})
	}
	return out
}

// formStatus is the status of a form answered with its errors: the error's
// own (400, or 409 for a conflict such as a name in use), except that an
// object of another organisation named in a field (404 from the database)
// is the form's fault, a 400.
func formStatus(err error) int {
	if s := StatusOf(err); s == http.StatusConflict {
		return s
	}
	return http.StatusBadRequest
}

// isFormError reports whether err is about the form's input: invalid, a
// conflict, or an error naming a field.
func isFormError(err error) bool {
	code := domain.ErrorCode(err)
	return code == domain.EINVALID || code == domain.ECONFLICT || domain.ErrorField(err) != ""
}

// parseBirthDate reads an optional YYYY-MM-DD date of birth, adding a field
// error to errs when it is malformed.
func parseBirthDate(s string, errs *domain.ValidationErrors) time.Time {
	if s == "" {
		return time.Time{}
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		errs.Add(domain.Invalid("birth_date", "user.birth_date_format", "Write the date of birth as YYYY-MM-DD, e.g. 1985-04-23."))
	}
	return d
}
