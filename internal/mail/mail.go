// Package mail turns a domain.Notification into an email and sends it. The
// templates (Danish and English, text and HTML) are embedded; Render fills
// them and Validate checks a notification before it is queued, so a mistake
// shows in the request that made it rather than hours later in a worker.
// SMTPSender delivers through an SMTP server with go-mail; its errors never
// hold a message's body or its recipient's address, so they can be logged
// and stored with a job.
package mail

import "context"

// Message is one rendered email to one recipient.
type Message struct {
	To      string
	Subject string
	Text    string // the text/plain part
	HTML    string // the text/html alternative; empty for text only
}

// Sender delivers a message. Errors never contain the message body.
type Sender interface {
	Send(ctx context.Context, m Message) error
}
