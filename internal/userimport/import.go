package userimport

import (
	"time"

	"github.com/google/uuid"
)

// Import statuses.
const (
	StatusPending = "pending" // uploaded and checked, waiting for confirmation
	StatusApplied = "applied"
)

// Import is an uploaded file after its checks: what the preview shows.
type Import struct {
	ID         uuid.UUID
	OrgID      uuid.UUID
	UploadedBy uuid.UUID
	FileName   string
	FileSize   int64
	SHA256     []byte
	// Columns and Headings describe the file's columns by position (see
	// Header).
	Columns   []string
	Headings  []string
	Status    string
	Counts    Counts
	ExpiresAt time.Time
	AppliedAt *time.Time
	CreatedAt time.Time
}

// Counts are the rows of an import by what they do.
type Counts struct {
	Rows          int
	Creates       int
	Updates       int // including Unchanged
	Unchanged     int // updates that change nothing
	Deactivations int
	Deletions     int
	WithErrors    int
}

// Changes is the number of users the import changes.
func (c Counts) Changes() int {
	return c.Creates + c.Updates - c.Unchanged + c.Deactivations + c.Deletions
}

// Heading is the file's own heading of col, or "" when the file lacks it.
func (i *Import) Heading(col string) string {
	for n, c := range i.Columns {
		if c == col && n < len(i.Headings) {
			return i.Headings[n]
		}
	}
	return ""
}

// StagedRow is one stored row as the preview lists it: never its CPR
// number.
type StagedRow struct {
	Line      int
	Action    Action
	UserID    uuid.UUID
	FirstName string
	LastName  string
	Email     string
	Errors    []RowError
}
