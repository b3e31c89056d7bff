package portal

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Danish time even where the system has no zone data
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/audit"
	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/web"
	"github.com/erhverv/erhverv/web/pages"
)

// Paths of the organisation's audit log and its CSV export.
const (
	AuditPath       = "/portal/audit"
	AuditExportPath = "/portal/audit.csv"
)

func (p *Portal) mountAudit(g *gin.RouterGroup) {
	g.GET(AuditPath, p.auditLog)
	g.GET(AuditExportPath, p.auditExport)
}

// auditActionPrefixes are the choices of the page's action filter, by the
// first part of the audited action.
var auditActionPrefixes = []string{"organisation", "user", "admin_role", "activation", "session", "group",
	"assignment", "rights_request", "poa", "privilege"}

// auditTextMax bounds the free-text filters.
const auditTextMax = 200

// auditRequest is the filter of a request to the page or the export, as
// entered and as the query it means.
type auditRequest struct {
	values pages.AuditFilterValues
	filter postgres.AuditFilter
	errs   []pages.FieldError
}

// parseAuditRequest reads the filter from the query string. Dates are whole
// days in Danish time; "to" includes its day.
func parseAuditRequest(lang string, orgID uuid.UUID, q url.Values) auditRequest {
	r := auditRequest{values: pages.AuditFilterValues{
		Actor: strings.TrimSpace(q.Get("actor")), Target: strings.TrimSpace(q.Get("target")),
		Action: strings.TrimSpace(q.Get("action")), From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to")),
	}}
	r.filter = postgres.AuditFilter{OrgID: orgID, Actor: r.values.Actor, Target: r.values.Target}
	fail := func(field, key string) {
		r.errs = append(r.errs, pages.FieldError{Field: field, Message: web.T(lang, key)})
	}
	for _, f := range []struct{ name, value string }{{"actor", r.values.Actor}, {"target", r.values.Target}} {
		if utf8.RuneCountInString(f.value) > auditTextMax {
			fail(f.name, "audit.error.long")
		}
	}
	if a := r.values.Action; a != "" {
		if slices.Contains(auditActionPrefixes, a) {
			r.filter.Action = a + "."
		} else {
			fail("action", "audit.error.action")
		}
	}
	day := func(field, s string) *time.Time {
		if s == "" {
			return nil
		}
		d, err := time.ParseInLocation(time.DateOnly, s, domain.DanishTime)
		if err != nil {
			fail(field, "audit.error.date")
			return nil
		}
		return &d
	}
	r.filter.From = day("from", r.values.From)
	if to := day("to", r.values.To); to != nil {
		end := time.Date(to.Year(), to.Month(), to.Day()+1, 0, 0, 0, 0, domain.DanishTime)
		r.filter.To = &end
		if r.filter.From != nil && !r.filter.From.Before(end) {
			fail("to", "audit.error.range")
		}
	}
	if s := q.Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			fail("", "audit.error.before")
		}
		r.filter.BeforeSeq = n
	}
	return r
}

// query is the filter as a query string, for links that keep it.
func (r auditRequest) query(before int64) string {
	q := url.Values{}
	for _, kv := range [][2]string{{"actor", r.values.Actor}, {"target", r.values.Target}, {"action", r.values.Action},
		{"from", r.values.From}, {"to", r.values.To}} {
		if kv[1] != "" {
			q.Set(kv[0], kv[1])
		}
	}
	if before > 0 {
		q.Set("before", strconv.FormatInt(before, 10))
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

func (p *Portal) auditView(c *gin.Context, act actor, r auditRequest) pages.AuditView {
	lang := p.lang(c)
	v := pages.AuditView{Frame: p.frame(c, act, web.T(lang, "audit.title"), AuditPath), Action: AuditPath,
		Filter: r.values, Errors: r.errs,
		Choices: []pages.AuditChoice{{Value: "", Label: web.T(lang, "audit.filter.action.all")}}}
	for _, a := range auditActionPrefixes {
		v.Choices = append(v.Choices, pages.AuditChoice{Value: a, Label: web.T(lang, "audit.filter.action."+a)})
	}
	return v
}

// auditLog shows the organisation's audit log: the state of its hash chain,
// then one page of events, newest first.
func (p *Portal) auditLog(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	res := authz.Resource{Type: "audit"}
	if !p.authorize(c, act, authz.ActionAuditRead, res, authz.Context{}) {
		return
	}
	lang := p.lang(c)
	r := parseAuditRequest(lang, act.Org.ID, c.Request.URL.Query())
	v := p.auditView(c, act, r)
	if len(r.errs) > 0 {
		render(c, http.StatusBadRequest, pages.Audit(v))
		return
	}
	ctx := c.Request.Context()
	// The whole chain is recomputed on every view: that is what makes the
	// "intact" line worth reading.
	check, err := p.Audit.VerifyAudit(ctx, &act.Org.ID)
	if err != nil {
		p.internalError(c, err)
		return
	}
	v.Chain = pages.AuditChainStatus{Checked: true, OK: check.OK, Events: check.Events, BrokenAt: check.BrokenAt}
	events, more, err := p.Audit.ListAuditEvents(ctx, r.filter)
	if err != nil {
		p.internalError(c, err)
		return
	}
	for _, e := range events {
		v.Rows = append(v.Rows, auditRow(lang, e))
	}
	if more {
		v.NextURL = AuditPath + r.query(events[len(events)-1].Seq)
	}
	if r.filter.BeforeSeq > 0 {
		v.FirstURL = AuditPath + r.query(0)
	}
	if p.may(c, act, authz.ActionAuditExport, res) {
		v.ExportURL = AuditExportPath + r.query(0)
	}
	render(c, http.StatusOK, pages.Audit(v))
}

// auditRow is an event as the table shows it, in lang.
func auditRow(lang string, e *domain.AuditEvent) pages.AuditRow {
	row := pages.AuditRow{Seq: e.Seq, Time: e.OccurredAt.In(domain.DanishTime).Format(time.DateTime), Actor: e.ActorLabel,
		Action: textOr(lang, "audit.action."+e.Action, e.Action), RawAction: e.Action,
		TargetType: textOr(lang, "audit.target."+e.TargetType, e.TargetType), TargetID: e.TargetID,
		Details: auditDetails(e.Details), RequestID: e.RequestID}
	if row.Actor == "" {
		if e.ActorID != nil {
			row.Actor = e.ActorID.String()
		} else {
			row.Actor = web.T(lang, "audit.actor.system")
		}
	}
	return row
}

// textOr is key's text in lang, or fallback when the catalogue has none.
func textOr(lang, key, fallback string) string {
	if s := web.T(lang, key); s != key {
		return s
	}
	return fallback
}

// auditDetails writes an event's details as key: value lines, keys sorted;
// strings as they are, anything else as compact JSON.
func auditDetails(raw json.RawMessage) []pages.AuditDetail {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		if len(bytes.TrimSpace(raw)) == 0 {
			return nil
		}
		return []pages.AuditDetail{{Key: "?", Value: string(raw)}}
	}
	out := make([]pages.AuditDetail, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, pages.AuditDetail{Key: k, Value: detailValue(m[k])})
	}
	return out
}

func detailValue(v json.RawMessage) string {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return s
	}
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return string(v)
	}
	return b.String()
}

// auditCSVHeader names the export's columns; docs/AUDIT.md describes them.
var auditCSVHeader = []string{"seq", "occurred_at", "actor_id", "actor", "action", "action_text",
	"target_type", "target_id", "details", "request_id", "prev_hash", "hash"}

// auditExport streams the organisation's filtered log as CSV for Danish
// Excel: UTF-8 with a byte order mark, semicolons, oldest event first.
func (p *Portal) auditExport(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	if !p.authorize(c, act, authz.ActionAuditExport, authz.Resource{Type: "audit"}, authz.Context{}) {
		return
	}
	lang := p.lang(c)
	r := parseAuditRequest(lang, act.Org.ID, c.Request.URL.Query())
	if len(r.errs) > 0 {
		render(c, http.StatusBadRequest, pages.Audit(p.auditView(c, act, r)))
		return
	}
	filename := "audit-" + act.Org.CVR + "-" + p.now().In(domain.DanishTime).Format(time.DateOnly) + ".csv"
	w := startCSV(c, filename, auditCSVHeader)
	err := p.Audit.EachAuditEvent(c.Request.Context(), r.filter, func(e *domain.AuditEvent) error {
		actorID := ""
		if e.ActorID != nil {
			actorID = e.ActorID.String()
		}
		// Details in the form they are hashed in (sorted keys), so an
		// export can be checked against the chain.
		details, err := audit.CanonicalDetails(e.Details)
		if err != nil {
			return err
		}
		return w.Write(strconv.FormatInt(e.Seq, 10), e.OccurredAt.In(domain.DanishTime).Format("2006-01-02T15:04:05.000000Z07:00"),
			actorID, e.ActorLabel, e.Action, textOr(lang, "audit.action."+e.Action, ""), e.TargetType, e.TargetID,
			string(details), e.RequestID, hex.EncodeToString(e.PrevHash), hex.EncodeToString(e.Hash))
	})
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		p.exportFailed(c, "audit export", err)
	}
}
