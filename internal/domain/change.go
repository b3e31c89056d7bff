package domain

import (
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ChangeEvent is one change to an organisation's users, groups,
// administrator roles, assignments, rights requests or powers of attorney,
// as integrators see it in the change feed and in webhook deliveries. It is
// a projection of the organisation's audit event: Seq is the event's place
// in the organisation's audit chain, which has no gaps and is in commit
// order, so a client that remembers the last Seq it handled can resume
// without missing or repeating a change.
type ChangeEvent struct {
	Seq int64
	// ID is stable and unique across organisations ("<org id>:<seq>"), so
	// a subscriber can discard a webhook delivered twice.
	ID         string
	OrgID      uuid.UUID
	Type       string // the audited action, e.g. "user.created"
	OccurredAt time.Time
	// SubjectType and SubjectID name what changed ("user" and its id).
	SubjectType string
	SubjectID   string
	// Actor is who made the change, as the audit log names them (a person's
	// name or an API client's label); never their address.
	Actor string
	// Data are the audit details without what must not leave the platform
	// (the client's IP address, anything that looks like a CPR number).
	Data map[string]any
}

// ChangeEventID is the stable id of the change at seq in org's feed.
func ChangeEventID(orgID uuid.UUID, seq int64) string {
	return orgID.String() + ":" + strconv.FormatInt(seq, 10)
}

// ChangeEventFamilies are the kinds of change the feed carries, each the
// prefix of its actions. A webhook subscribes to some of them (or to single
// actions within them), or to all when it names none. The database decides
// the same with erhverv_feed_action (migration 00013).
var ChangeEventFamilies = []string{"user.", "group.", "admin_role.", "assignment.", "rights_request.", "poa."}

// IsChangeEventType reports whether action belongs to the change feed.
func IsChangeEventType(action string) bool {
	for _, f := range ChangeEventFamilies {
		if strings.HasPrefix(action, f) {
			return true
		}
	}
	return false
}
