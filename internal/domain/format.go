package domain

import (
	"strconv"
	"time"
)

var monthsDa = [...]string{"januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober", "november", "december"}

// copenhagen is the time zone dates are shown in; the UTC fallback only
// applies on a system without time zone data.
var copenhagen = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Copenhagen"); err == nil {
		return l
	}
	return time.UTC
}()

// FormatDate writes a date the way a reader of lang expects it: "2. januar
// 2027" in Danish, "2 January 2027" in English, in Danish time.
func FormatDate(t time.Time, lang string) string {
	t = t.In(copenhagen)
	if lang == "en" {
		return t.Format("2 January 2006")
	}
	return strconv.Itoa(t.Day()) + ". " + monthsDa[t.Month()-1] + " " + strconv.Itoa(t.Year())
}
