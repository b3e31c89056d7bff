package webhook

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
)

var (
	secret = []byte("whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlYw")
	body   = []byte(`{"id":"x:1","type":"user.created"}`)
	sent   = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
)

func TestSignProducesTheDocumentedHeader(t *testing.T) {
	t.Parallel()
	got := Sign([]byte("key"), time.Unix(1700000000, 0), []byte("{}"))
	// echo -n '1700000000.{}' | openssl dgst -sha256 -hmac key
	want := "t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
	if got != want {
		t.Fatalf("Sign: got %q, want %q", got, want)
	}
	if err := Verify([]byte("key"), got, []byte("{}"), time.Unix(1700000000, 0), time.Minute); err != nil {
		t.Errorf("Verify of a fresh signature: got %v, want nil", err)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	good := Sign(secret, sent, body)
	other := Sign([]byte("whsec_another"), sent, body)
	cases := []struct {
		name   string
		secret []byte
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"fresh", secret, good, body, sent.Add(30 * time.Second), nil},
		{"clock of the receiver a little behind", secret, good, body, sent.Add(-time.Minute), nil},
		{"tampered body", secret, good, []byte(`{"id":"x:1","type":"user.deleted"}`), sent, ErrSignature},
		{"wrong secret", []byte("whsec_wrong"), good, body, sent, ErrSignature},
		{"replay outside tolerance", secret, good, body, sent.Add(DefaultTolerance + time.Second), ErrTimestamp},
		{"from the future", secret, good, body, sent.Add(-DefaultTolerance - time.Second), ErrTimestamp},
		{"timestamp changed", secret, strings.Replace(good, "t=", "t=1", 1), body, sent, ErrTimestamp},
		{"two signatures, one right (secret rollover)", secret, other + ",v1=" + strings.SplitN(good, "v1=", 2)[1], body, sent, nil},
		{"unknown scheme ignored", secret, good + ",v0=abc", body, sent, nil},
		{"empty", secret, "", body, sent, ErrMalformed},
		{"no timestamp", secret, "v1=" + strings.SplitN(good, "v1=", 2)[1], body, sent, ErrMalformed},
		{"no signature", secret, "t=1700000000", body, sent, ErrMalformed},
		{"two timestamps", secret, good + ",t=1", body, sent, ErrMalformed},
		{"not hex", secret, "t=1772445600,v1=zz", body, sent, ErrMalformed},
		{"short signature", secret, "t=1772445600,v1=abcd", body, sent, ErrMalformed},
		{"timestamp not a number", secret, "t=soon,v1=" + strings.SplitN(good, "v1=", 2)[1], body, sent, ErrMalformed},
		{"timestamp with a sign", secret, "t=+1772445600,v1=" + strings.SplitN(good, "v1=", 2)[1], body, sent, ErrMalformed},
		{"no equals sign", secret, "t1772445600", body, sent, ErrMalformed},
		{"huge header", secret, good + strings.Repeat(",x=y", 2000), body, sent, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := Verify(c.secret, c.header, c.body, c.now, DefaultTolerance)
			if !errors.Is(err, c.want) {
				t.Errorf("Verify: got %v, want %v", err, c.want)
			}
		})
	}
}

func TestNewEventIsTheFeedItem(t *testing.T) {
	t.Parallel()
	org := uuid.MustParse("0b0c3e8e-41c6-4a51-8f0a-0f2f6d1f6a55")
	e := NewEvent(domain.ChangeEvent{Seq: 7, ID: domain.ChangeEventID(org, 7), OrgID: org, Type: "user.created",
		OccurredAt: time.Date(2026, 3, 2, 11, 0, 0, 0, time.FixedZone("CET", 3600)), SubjectType: "user", SubjectID: "u1", Actor: "Jens"})
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"0b0c3e8e-41c6-4a51-8f0a-0f2f6d1f6a55:7","seq":7,"type":"user.created","occurred_at":"2026-03-02T10:00:00Z",` +
		`"org_id":"0b0c3e8e-41c6-4a51-8f0a-0f2f6d1f6a55","subject_type":"user","subject_id":"u1","actor":"Jens","data":{}}`
	if string(b) != want {
		t.Errorf("JSON:\ngot  %s\nwant %s", b, want)
	}
}
