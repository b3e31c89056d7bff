package postgres

import (
	"database/sql/driver"
	"fmt"

	"gorm.io/gorm/clause"
)

// forUpdate locks the selected rows until the transaction ends.
var forUpdate = clause.Locking{Strength: "UPDATE"}

// jsonb is a jsonb column's value, passed to and from the driver as text.
type jsonb []byte

// Value implements driver.Valuer.
func (j jsonb) Value() (driver.Value, error) {
	if len(j) == 0 {
		return "{}", nil
	}
	return string(j), nil
}

// Scan implements sql.Scanner.
func (j *jsonb) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*j = nil
	case []byte:
		*j = append((*j)[:0], v...)
	case string:
		*j = jsonb(v)
	default:
		return fmt.Errorf("jsonb: cannot scan %T", src)
	}
	return nil
}

// mapRows converts a slice of row structs with their toDomain method.
func mapRows[R any, D any](rows []R, toDomain func(*R) D) []D {
	out := make([]D, len(rows))
	for i := range rows {
		out[i] = toDomain(&rows[i])
	}
	return out
}
