package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/webhook"
)

// change makes an audited change in org through the portal's services (a
// new group), as a person whose address the feed must not show.
func (e *testEnv) change(t *testing.T, org *domain.Organisation, name string) *domain.Group {
	t.Helper()
	g := &domain.Group{OrgID: org.ID, Name: name}
	if err := e.Admin.CreateGroup(context.Background(), postgres.Actor{UserID: uuid.New(), Label: "Anne Admin", Address: "192.0.2.7"}, g); err != nil {
		t.Fatal(err)
	}
	return g
}

type feedPage struct {
	Items      []webhook.Event `json:"items"`
	NextCursor *string         `json:"next_cursor"`
}

func (e *testEnv) feed(t *testing.T, tok, query string) feedPage {
	t.Helper()
	var p feedPage
	e.decode(t, e.do(t, "GET", "/api/v1/events"+query, tok, nil, nil), http.StatusOK, &p)
	if p.NextCursor == nil {
		t.Fatalf("GET /events%s: no next_cursor", query)
	}
	return p
}

func TestChangeFeedPagesInOrderAndResumes(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	org := env.org(t, "", "Nordlys Rådgivning ApS")
	tok := env.token(t, org, "events:read")
	var want []string
	for i := range 4 {
		want = append(want, env.change(t, org, fmt.Sprint("Gruppe ", i)).ID.String())
		// A login is audited but is no change.
		if err := postgres.NewAuditLog(env.DB).AppendAudit(context.Background(), &domain.AuditEvent{OrgID: &org.ID,
			ActorLabel: "Anne Admin", Action: "session.started", TargetType: "user", TargetID: uuid.NewString()}); err != nil {
			t.Fatal(err)
		}
	}

	var got []string
	var seqs []int64
	after := "0"
	for range 50 {
		p := env.feed(t, tok, "?limit=1&after="+after)
		for _, ev := range p.Items {
			if ev.Type == "group.created" {
				got = append(got, ev.SubjectID)
			}
			seqs = append(seqs, ev.Seq)
			if ev.OrgID != org.ID.String() || ev.ID != domain.ChangeEventID(org.ID, ev.Seq) {
				t.Errorf("event %+v: wrong org or id", ev)
			}
			if _, ok := ev.Data["address"]; ok || strings.Contains(fmt.Sprint(ev.Data), "192.0.2.7") {
				t.Errorf("event %s carries the actor's address: %v", ev.Type, ev.Data)
			}
			if strings.HasPrefix(ev.Type, "session.") {
				t.Errorf("the feed shows a login: %s", ev.Type)
			}
		}
		if *p.NextCursor == after {
			break
		}
		after = *p.NextCursor
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("groups in the feed:\ngot  %v\nwant %v", got, want)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Errorf("seq %d after %d, want increasing", seqs[i], seqs[i-1])
		}
	}

	// At the head: an empty page that keeps the cursor, and a Link to poll.
	resp := env.do(t, "GET", "/api/v1/events?after="+after, tok, nil, nil)
	var head feedPage
	env.decode(t, resp, http.StatusOK, &head)
	if len(head.Items) != 0 || head.NextCursor == nil || *head.NextCursor != after {
		t.Errorf("at the head: %+v, want no items and next_cursor %s", head, after)
	}
	if link := resp.Header.Get("Link"); !strings.Contains(link, "after="+after) || !strings.Contains(link, `rel="next"`) {
		t.Errorf("Link: %q", link)
	}
	beyond := env.feed(t, tok, "?after=999999")
	if len(beyond.Items) != 0 || *beyond.NextCursor != "999999" {
		t.Errorf("beyond the head: %+v", beyond)
	}
	// A new change comes after the cursor.
	g := env.change(t, org, "Ny gruppe")
	next := env.feed(t, tok, "?after="+after)
	if len(next.Items) != 1 || next.Items[0].SubjectID != g.ID.String() {
		t.Errorf("after a new change: %+v", next.Items)
	}
}

func TestChangeFeedRefusals(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	orgA, orgB := env.org(t, "", "A"), env.org(t, "", "B")
	tokA := env.token(t, orgA, "events:read")
	env.change(t, orgB, "B's gruppe")
	for _, p := range env.feed(t, tokA, "").Items {
		if p.OrgID != orgA.ID.String() {
			t.Errorf("A's feed shows %s of org %s", p.Type, p.OrgID)
		}
	}
	if p := env.feed(t, tokA, "?after=9223372036854775807"); len(p.Items) != 0 || *p.NextCursor != "9223372036854775807" {
		t.Errorf("the largest cursor: %+v", p)
	}
	for _, q := range []string{"?after=abc", "?after=-1", "?after=1.5", "?after=99999999999999999999"} {
		p := env.problemOf(t, env.do(t, "GET", "/api/v1/events"+q, tokA, nil, nil), http.StatusBadRequest, domain.EINVALID)
		if len(p.Errors) != 1 || p.Errors[0].Field != "after" {
			t.Errorf("%s: errors %+v, want one about after", q, p.Errors)
		}
	}
	for _, q := range []string{"?limit=0", "?limit=1001", "?limit=x"} {
		p := env.problemOf(t, env.do(t, "GET", "/api/v1/events"+q, tokA, nil, nil), http.StatusBadRequest, domain.EINVALID)
		if len(p.Errors) != 1 || p.Errors[0].Field != "limit" {
			t.Errorf("%s: errors %+v, want one about limit", q, p.Errors)
		}
	}
	noScope := env.token(t, orgA, "users:read", "audit:read")
	env.problemOf(t, env.do(t, "GET", "/api/v1/events", noScope, nil, nil), http.StatusForbidden, domain.EFORBIDDEN)
	env.problemOf(t, env.do(t, "GET", "/api/v1/events", "", nil, nil), http.StatusUnauthorized, domain.EUNAUTHENTICATED)
}

// The feed's items and a webhook's body are one JSON shape: decoding an
// item as webhook.Event and encoding it again gives the same object.
func TestChangeFeedItemIsTheWebhookBody(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	org := env.org(t, "", "Nordlys")
	tok := env.token(t, org, "events:read")
	env.change(t, org, "Gruppe")
	var raw struct {
		Items []json.RawMessage `json:"items"`
	}
	env.decode(t, env.do(t, "GET", "/api/v1/events", tok, nil, nil), http.StatusOK, &raw)
	if len(raw.Items) == 0 {
		t.Fatal("no items")
	}
	for _, item := range raw.Items {
		var ev webhook.Event
		if err := json.Unmarshal(item, &ev); err != nil {
			t.Fatal(err)
		}
		again, _ := json.Marshal(ev)
		var a, b map[string]any
		_ = json.Unmarshal(item, &a)
		_ = json.Unmarshal(again, &b)
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("item %s does not round-trip through webhook.Event: %s", item, again)
		}
	}
}
