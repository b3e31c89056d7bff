package portal

import (
	"encoding/json"
	"strings"
	"time"
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
