package domain

import (
	"strconv"
	"time"
	_ "time/tzdata" // Danish time even where the system has no zone data
)

var monthsDa = [...]string{"januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober", "november", "december"}

// DanishTime is the time zone pages and mails show times in.
var DanishTime = func() *time.Location {
	l, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		panic(err) // time/tzdata is linked in
	}
	return l
}()

// FormatDate writes a date the way a reader of lang expects it: "2. januar
// 2027" in Danish, "2 January 2027" in English, in Danish time.
func FormatDate(t time.Time, lang string) string {
	t = t.In(DanishTime)
	if lang == "en" {
		return t.Format("2 January 2006")
	}
	return strconv.Itoa(t.Day()) + ". " + monthsDa[t.Month()-1] + " " + strconv.Itoa(t.Year())
}
