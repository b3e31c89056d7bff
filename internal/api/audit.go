package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

// mountAudit registers the audit log endpoint.
func (a *API) mountAudit(g *gin.RouterGroup) {
	g.GET("/audit-events", a.listAuditEvents)
}

// auditEventJSON is one event of the organisation's chain. The hashes are
// left out: the details are not as they were hashed (see scrubDetails), and
// the chain is verified where the whole log is, in the portal and with
// erhverv audit verify.
type auditEventJSON struct {
	Seq        int64          `json:"seq"`
	OccurredAt time.Time      `json:"occurred_at"`
	ActorID    *uuid.UUID     `json:"actor_id,omitempty"`
	ActorLabel string         `json:"actor_label"`
	Action     string         `json:"action"`
	TargetType string         `json:"target_type"`
	TargetID   string         `json:"target_id"`
	Details    map[string]any `json:"details"`
	RequestID  string         `json:"request_id"`
}

// auditAction is the form of the action filter: an action or its start.
var auditAction = regexp.MustCompile(`^[a-z][a-z0-9_.]{0,99}$`)

// listAuditEvents is a page of the organisation's audit log, newest first.
func (a *API) listAuditEvents(c *gin.Context) {
	client := ClientOf(c)
	if !a.authorize(c, authz.ActionAuditRead, Resource{OrgID: client.OrgID}) {
		return
	}
	limit, cursor, ok := a.pageParams(c)
	if !ok {
		return
	}
	f := postgres.AuditFilter{OrgID: client.OrgID, Limit: limit,
		Actor: strings.TrimSpace(c.Query("actor")), Target: strings.TrimSpace(c.Query("target")), Action: c.Query("action")}
	if !a.decodeCursor(c, cursor, &f.BeforeSeq) {
		return
	}
	var errs []FieldError
	if cursor != "" && f.BeforeSeq < 1 {
		errs = append(errs, FieldError{Field: "cursor", Code: "page.cursor", Detail: "Use the next_cursor of the previous page as it is."})
	}
	for _, p := range []struct{ name, value string }{{"actor", f.Actor}, {"target", f.Target}} {
		if utf8.RuneCountInString(p.value) > maxSearch {
			errs = append(errs, FieldError{Field: p.name, Code: "audit." + p.name, Detail: fmt.Sprintf("%s has at most %d characters.", p.name, maxSearch)})
		}
	}
	if f.Action != "" && !auditAction.MatchString(f.Action) {
		errs = append(errs, FieldError{Field: "action", Code: "audit.action", Detail: "action is an action or its start, such as assignment. or assignment.created."})
	}
	for _, p := range []struct {
		name string
		into **time.Time
	}{{"since", &f.From}, {"until", &f.To}} {
		if s := c.Query(p.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				errs = append(errs, FieldError{Field: p.name, Code: "audit." + p.name, Detail: p.name + " is a moment in RFC 3339, such as 2026-01-31T00:00:00Z."})
				continue
			}
			*p.into = &t
		}
	}
	if f.From != nil && f.To != nil && !f.From.Before(*f.To) {
		errs = append(errs, FieldError{Field: "until", Code: "audit.range", Detail: "until must come after since."})
	}
	if len(errs) > 0 {
		a.problemf(c, http.StatusBadRequest, domain.EINVALID, "Some parameters are not valid; see errors.", errs...)
		return
	}
	events, more, err := a.opts.Audit.ListAuditEvents(c.Request.Context(), f)
	if err != nil {
		a.problem(c, err)
		return
	}
	items := make([]auditEventJSON, len(events))
	for i, e := range events {
		items[i] = auditEventJSON{Seq: e.Seq, OccurredAt: e.OccurredAt.UTC(), ActorID: e.ActorID, ActorLabel: e.ActorLabel,
			Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID, Details: scrubDetails(e.Details), RequestID: e.RequestID}
	}
	next := ""
	if more && len(events) > 0 {
		next = encodeCursor(events[len(events)-1].Seq)
	}
	c.Header("Cache-Control", "no-store")
	a.page(c, items, next)
}

// scrubDetails is an event's details for a third party's system: without
// the client IP address of whoever acted (the key "address", which every
// administrative change records for the organisation's own eyes in the
// portal) and, as a second line of defence, without anything CPR-like
// (audit details hold no CPR number by design; a key naming one keeps only
// a value without digits, such as "(changed)"). The change feed scrubs its
// data the same way.
func scrubDetails(raw json.RawMessage) map[string]any {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // counts and ids stay as written
	if err := dec.Decode(&m); err != nil || m == nil {
		return map[string]any{}
	}
	scrubValue(m)
	return m
}

// cprLike matches a CPR number as written (DDMMYY-SSSS); ten bare digits
// are left alone, since P-numbers have ten digits too.
var cprLike = regexp.MustCompile(`^\d{6}-\d{4}$`)

func scrubValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			lk := strings.ToLower(k)
			if lk == "address" || lk == "ip" || lk == "client_ip" || isCPRLike(val) || (strings.Contains(lk, "cpr") && hasDigit(val)) {
				delete(x, k)
				continue
			}
			x[k] = scrubValue(val)
		}
		return x
	case []any:
		out := x[:0]
		for _, val := range x {
			if !isCPRLike(val) {
				out = append(out, scrubValue(val))
			}
		}
		return out
	}
	return v
}

// hasDigit reports whether v could hold a number: under a key naming a
// CPR number, "(changed)" may stay, digits may not.
func hasDigit(v any) bool {
	s, ok := v.(string)
	return !ok || strings.ContainsAny(s, "0123456789")
}

func isCPRLike(v any) bool {
	s, ok := v.(string)
	return ok && cprLike.MatchString(strings.TrimSpace(s))
}
