// Package webhook is the contract between erhverv and a webhook subscriber:
// the headers of a delivery, its signature and its body. A delivery is
// signed like Stripe's: the header
//
//	Erhverv-Signature: t=<unix seconds>,v1=<hex HMAC-SHA-256(secret, "<unix seconds>.<body>")>
//
// binds the body to the time it was sent, so a subscriber that checks the
// signature and refuses old timestamps (Verify) knows the change came from
// the platform and is not a replay. The secret is the whole string the
// platform showed when the webhook was created ("whsec_..."), used as the
// HMAC key byte for byte.
//
// The body is one Event, the same JSON object the change feed
// (GET /api/v1/events) lists, so a subscriber parses both with one type.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/erhverv/erhverv/internal/domain"
)

// The headers of a delivery.
const (
	// HeaderSignature carries the timestamp and signature (Sign).
	HeaderSignature = "Erhverv-Signature"
	// HeaderEventID is the change's stable id (the body's "id"), the same
	// for every delivery of the change: use it to discard duplicates.
	HeaderEventID = "Erhverv-Event-Id"
	// HeaderDeliveryID is the delivery's id, the same for every attempt of
	// one delivery; the portal's delivery log shows it.
	HeaderDeliveryID = "Erhverv-Delivery-Id"
	// HeaderEventType is the change's type (the body's "type").
	HeaderEventType = "Erhverv-Event-Type"
)

// DefaultTolerance is how far from now a signature's timestamp may lie
// before Verify refuses it. Retries are signed afresh, so only a replay or
// a badly wrong clock gets near it.
const DefaultTolerance = 5 * time.Minute

// Verification failures. Verify wraps them, so errors.Is tells them apart.
var (
	ErrMalformed = errors.New("webhook: malformed signature header")
	ErrTimestamp = errors.New("webhook: timestamp outside the tolerance")
	ErrSignature = errors.New("webhook: signature does not match")
)

// Sign returns the Erhverv-Signature header value for body sent at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks header (an Erhverv-Signature value) against body: it must
// be well formed, its timestamp within tolerance of now (either way), and
// one of its v1 signatures the HMAC of the timestamp and body under secret
// (several v1 entries are allowed, so a secret can be rolled over). The
// comparison takes constant time.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if len(header) > 4096 {
		return ErrMalformed
	}
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrMalformed
		}
		switch k {
		case "t":
			if ts != "" {
				return ErrMalformed
			}
			ts = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return ErrMalformed
			}
			sigs = append(sigs, sig)
		default:
			// Other schemes (a future v2) are ignored, as in Stripe's.
		}
	}
	if ts == "" || len(sigs) == 0 {
		return ErrMalformed
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sec <= 0 || ts != strconv.FormatInt(sec, 10) {
		return ErrMalformed
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrTimestamp
	}
	want := mac(secret, ts, body)
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			return nil
		}
	}
	return ErrSignature
}

// Event is the JSON of one change, in the change feed and as a webhook's
// body.
type Event struct {
	ID          string         `json:"id"`
	Seq         int64          `json:"seq"`
	Type        string         `json:"type"`
	OccurredAt  time.Time      `json:"occurred_at"`
	OrgID       string         `json:"org_id"`
	SubjectType string         `json:"subject_type"`
	SubjectID   string         `json:"subject_id"`
	Actor       string         `json:"actor"`
	Data        map[string]any `json:"data"`
}

// NewEvent is the JSON form of e. Data is never null.
func NewEvent(e domain.ChangeEvent) Event {
	data := e.Data
	if data == nil {
		data = map[string]any{}
	}
	return Event{ID: e.ID, Seq: e.Seq, Type: e.Type, OccurredAt: e.OccurredAt.UTC(), OrgID: e.OrgID.String(),
		SubjectType: e.SubjectType, SubjectID: e.SubjectID, Actor: e.Actor, Data: data}
}
