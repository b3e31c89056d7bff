package domain

import (
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Webhook is an organisation's subscription to its change feed: every
// change of the chosen kinds is sent to URL, signed with the webhook's
// secret (which only its creator saw, once).
type Webhook struct {
	ID    uuid.UUID
	OrgID uuid.UUID
	URL   string
	// EventTypes are families ("user.") or single actions ("user.created");
	// empty means every change of the feed.
	EventTypes     []string
	Active         bool
	CreatedByLabel string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Delivery states: pending until the subscriber answers 2xx (delivered) or
// the attempts run out (failed).
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// WebhookDelivery is one change sent (or to be sent) to one webhook, with
// every attempt so far, newest last.
type WebhookDelivery struct {
	ID             uuid.UUID
	WebhookID      uuid.UUID
	EventID        string // the ChangeEvent's ID
	EventSeq       int64
	EventType      string
	Status         string
	Attempts       int
	NextAttemptAt  *time.Time // when the next try is due; nil once finished
	LastStatusCode *int
	LastError      string
	LastDurationMS *int
	DeliveredAt    *time.Time
	CreatedAt      time.Time
	Log            []WebhookAttempt
}

// WebhookAttempt is one try: the answer's status code (nil when none came)
// or what went wrong, and how long it took.
type WebhookAttempt struct {
	Attempt     int
	AttemptedAt time.Time
	DurationMS  int
	StatusCode  *int
	Error       string
}

// OutgoingDelivery is a due delivery as the dispatcher needs it: where to,
// the secret to sign with and the change itself.
type OutgoingDelivery struct {
	ID        uuid.UUID
	WebhookID uuid.UUID
	OrgID     uuid.UUID
	URL       string
	Secret    []byte
	Attempt   int // the number of this attempt, from 1
	Event     ChangeEvent
}

// DeliveryResult is the outcome of one attempt of an OutgoingDelivery.
type DeliveryResult struct {
	Attempt     int // the OutgoingDelivery's Attempt
	AttemptedAt time.Time
	Duration    time.Duration
	StatusCode  int    // 0 when no answer came
	Error       string // what went wrong; "" for a 2xx
	Delivered   bool
	// RetryIn is when to try again after a failure; 0 gives up (failed).
	RetryIn time.Duration
}

// MaxWebhookURL is the longest webhook URL accepted.
const MaxWebhookURL = 2048

// MaxWebhooksPerOrg bounds how many webhooks an organisation has: each
// change is sent to every one of them.
const MaxWebhooksPerOrg = 20

// ValidateWebhookURL checks that raw is an absolute https URL (http too
// when allowHTTP, for development), without credentials or a fragment. It
// does not resolve the host: private addresses are refused when the
// dispatcher connects, so a name that resolves elsewhere later is caught.
func ValidateWebhookURL(field, raw string, allowHTTP bool) error {
	if raw == "" {
		return Invalid(field, "webhook.url_required", "Give the URL the changes are to be sent to.")
	}
	if len(raw) > MaxWebhookURL {
		return Invalid(field, "webhook.url_long", "The URL has at most 2048 characters.")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" || strings.ContainsAny(raw, " \t\r\n") {
		return Invalid(field, "webhook.url", "The URL is not an absolute URL such as https://example.dk/erhverv/events.")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowHTTP:
	default:
		return Invalid(field, "webhook.url_https", "The URL must start with https://: changes carry personal data.")
	}
	if u.User != nil {
		return Invalid(field, "webhook.url_credentials", "The URL must not contain a user name or password: every delivery is signed instead.")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return Invalid(field, "webhook.url_fragment", "The URL must not contain a fragment (#...).")
	}
	if u.Hostname() == "" {
		return Invalid(field, "webhook.url", "The URL has no host name.")
	}
	return nil
}

var eventTypePattern = regexp.MustCompile(`^[a-z_]+\.([a-z][a-z0-9_.]{0,98})?$`)

// ValidateWebhookEventTypes checks that each type is a family of the feed
// ("user.") or one action of a family ("user.created"), and returns them
// without repeats.
func ValidateWebhookEventTypes(field string, types []string) ([]string, error) {
	if len(types) > 50 {
		return nil, Invalid(field, "webhook.event_types_many", "Choose at most 50 event types.")
	}
	out := make([]string, 0, len(types))
	seen := map[string]bool{}
	for _, t := range types {
		t = strings.TrimSpace(t)
		if !eventTypePattern.MatchString(t) || !IsChangeEventType(t) {
			return nil, Invalid(field, "webhook.event_type", "Unknown event type "+quote(t)+"; use "+
				strings.Join(ChangeEventFamilies, ", ")+" or one action of them such as user.created.")
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out, nil
}

func quote(s string) string {
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return `"` + s + `"`
}
