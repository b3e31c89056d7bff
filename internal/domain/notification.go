package domain

import "github.com/google/uuid"

// Notification is one email to one person, rendered from a template when it
// is sent. It is enqueued in the same transaction as the change it tells
// about, so either both happen or neither does.
type Notification struct {
	Template string     // the mail template, e.g. "activation" or "first_admin"
	Lang     string     // "da" or "en"
	To       string     // the recipient's address
	OrgID    *uuid.UUID // the organisation the mail is about, when there is one
	// Data are the template's fields.
	Data map[string]string
	// Secrets are template fields that grant something (an activation link):
	// they are sealed at rest until the mail is sent, never logged.
	Secrets map[string]string
}
