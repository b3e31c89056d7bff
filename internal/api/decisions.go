package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/rights"
)

// Actions of the API policy (policy/api) that the portal's policy has no
// constant for.
const (
	actionDecisionAsk   = authz.ActionDecisionAsk
	actionEffectiveRead = authz.ActionEffectiveRead
)

// Limits of a question.
const (
	// maxBatch is the most questions of one /decisions/batch.
	maxBatch = 100
	// maxConstraints bounds a question's constraint values (a privilege
	// declares at most 10 types).
	maxConstraints = 20
	// maxURI is the longest privilege URI the catalogue takes.
	maxURI = 500
)

// defaultLevel is the assurance level of a question that names none: the
// level most logins to business services have, and the least a privilege
// asks for by default. Integrators should send the login's real level.
const defaultLevel = domain.LoASubstantial

// questionJSON is one question as the client sends it. Identifiers and
// times are strings so that a malformed one is reported on its own field.
type questionJSON struct {
	UserID      string            `json:"user_id"`
	Privilege   string            `json:"privilege"`
	Scope       *scopeJSON        `json:"scope"`
	Constraints map[string]string `json:"constraints"`
	Level       string            `json:"level"`
	At          string            `json:"at"`
}

// batchJSON is the body of /decisions/batch. The questions are decoded one
// by one, so that a field error names the question it is in.
type batchJSON struct {
	Questions []json.RawMessage `json:"questions"`
}

// decisionJSON is the answer to one question.
type decisionJSON struct {
	Allow   bool         `json:"allow"`
	Reasons []reasonJSON `json:"reasons"`
}

// reasonJSON is one reason of a decision or of a grant's verdict.
type reasonJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	GrantID string `json:"grant_id,omitempty"`
	Source  string `json:"source,omitempty"`
}

// sourceOfCode is how the grant of an allowing reason is held.
var sourceOfCode = map[string]string{
	rights.CodeGrantDirect:    rights.SourceDirect,
	rights.CodeGrantGroup:     rights.SourceGroup,
	rights.CodeGrantPoA:       rights.SourcePoA,
	rights.CodeGrantPoAPerson: rights.SourcePoAPerson,
}

func reasonsOut(rs []rights.Reason) []reasonJSON {
	out := make([]reasonJSON, len(rs))
	for i, r := range rs {
		out[i] = reasonJSON{Code: r.Code, Message: r.Message, GrantID: r.Grant, Source: sourceOfCode[r.Code]}
	}
	return out
}

// notYours answers a question the client may not ask: exactly what the
// rights service answers about a user that does not exist (rights.Service
// .Decide), so that the answer never tells whether another organisation's
// user exists. TestDecisionsHideOtherOrganisationsUsers holds the two equal.
func notYours() decisionJSON {
	return decisionJSON{Reasons: []reasonJSON{{Code: rights.CodeIdentityUnknown, Message: "There is no such user."}}}
}

// question checks q and turns it into the rights service's question; the
// field errors point into the body below at ("" or "/questions/3").
func (q *questionJSON) question(at string) (rights.Question, []FieldError) {
	var errs []FieldError
	fail := func(field, code, detail string) {
		errs = append(errs, FieldError{Field: at + field, Code: code, Detail: detail})
	}
	out := rights.Question{Privilege: strings.TrimSpace(q.Privilege), Level: q.Level, Constraints: q.Constraints}
	if id, err := uuid.Parse(q.UserID); err != nil {
		fail("/user_id", "decision.user_id", "user_id is the user's id, a UUID.")
	} else {
		out.UserID = id
	}
	if out.Privilege == "" || len(out.Privilege) > maxURI {
		fail("/privilege", "decision.privilege", fmt.Sprintf("privilege is the privilege's URI, 1 to %d characters.", maxURI))
	}
	if q.Scope != nil {
		sc, scopeErrs := scopeIn(*q.Scope, at+"/scope")
		errs = append(errs, scopeErrs...)
		out.Scope = &sc
	}
	if len(q.Constraints) > maxConstraints {
		fail("/constraints", "decision.constraints", fmt.Sprintf("A question has at most %d constraint values.", maxConstraints))
	}
	for typ, v := range q.Constraints {
		if strings.TrimSpace(typ) == "" || strings.TrimSpace(v) == "" || len(typ) > maxURI || utf8.RuneCountInString(v) > 200 {
			fail("/constraints/"+escapePointer(typ), "decision.constraint", "A constraint value needs its type (a URI) and a value of 1 to 200 characters.")
		}
	}
	if out.Level == "" {
		out.Level = defaultLevel
	} else if domain.LoARank(out.Level) == 0 {
		fail("/level", "decision.level", "level is low, substantial or high.")
	}
	if q.At != "" {
		t, err := time.Parse(time.RFC3339, q.At)
		if err != nil {
			fail("/at", "decision.at", "at is a moment in RFC 3339, such as 2026-01-31T12:00:00Z.")
		}
		out.Now = t
	}
	return out, errs
}

// decide answers one question.
func (r *rightsAPI) decide(c *gin.Context) {
	client := ClientOf(c)
	// Whether the client may ask at all does not depend on the question:
	// a missing scope is 403 before the body is read.
	if !r.authorize(c, actionDecisionAsk, Resource{OrgID: client.OrgID}) {
		return
	}
	var in questionJSON
	if !r.bind(c, &in) {
		return
	}
	q, errs := in.question("")
	if len(errs) > 0 {
		r.problemf(c, http.StatusBadRequest, domain.EINVALID, "The question is not valid; see errors.", errs...)
		return
	}
	d, err := r.answer(c.Request.Context(), client, q)
	if err != nil {
		r.problem(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

// decideBatch answers up to maxBatch questions in order. Every question is
// checked before any is answered: one invalid question refuses the batch.
func (r *rightsAPI) decideBatch(c *gin.Context) {
	client := ClientOf(c)
	if !r.authorize(c, actionDecisionAsk, Resource{OrgID: client.OrgID}) {
		return
	}
	var in batchJSON
	if !r.bind(c, &in) {
		return
	}
	if n := len(in.Questions); n == 0 || n > maxBatch {
		r.problemf(c, http.StatusBadRequest, domain.EINVALID, "A batch has 1 to 100 questions.",
			FieldError{Field: "/questions", Code: "decision.batch_size", Detail: fmt.Sprintf("Send 1 to %d questions; this batch has %d.", maxBatch, n)})
		return
	}
	questions := make([]rights.Question, len(in.Questions))
	var errs []FieldError
	for i, raw := range in.Questions {
		at := fmt.Sprintf("/questions/%d", i)
		var q questionJSON
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&q); err != nil {
			fe := jsonFieldError(err)
			fe.Field = at + fe.Field
			errs = append(errs, fe)
			continue
		}
		var qerrs []FieldError
		questions[i], qerrs = q.question(at)
		errs = append(errs, qerrs...)
	}
	if len(errs) > 0 {
		r.problemf(c, http.StatusBadRequest, domain.EINVALID, "Some questions are not valid; see errors.", errs...)
		return
	}
	out := struct {
		Decisions []decisionJSON `json:"decisions"`
	}{Decisions: make([]decisionJSON, len(questions))}
	ctx := c.Request.Context()
	for i, q := range questions {
		d, err := r.answer(ctx, client, q)
		if err != nil {
			r.problem(c, err)
			return
		}
		out.Decisions[i] = d
	}
	c.JSON(http.StatusOK, out)
}

// answer decides q for client: the rights service's decision when the API
// policy lets the client ask about this user and privilege, notYours when
// not. The facts the policy needs come from the directory: with the rights
// cache warm, a decision costs no query.
func (r *rightsAPI) answer(ctx context.Context, client *Client, q rights.Question) (decisionJSON, error) {
	org, err := r.dir.userOrg(ctx, q.UserID)
	if err != nil {
		return decisionJSON{}, err
	}
	res := Resource{OrgID: org}
	if org != client.OrgID {
		// Beyond its own organisation a client may ask only as the
		// provider of the privilege (policy/api).
		if res.ProviderOrgID, err = r.dir.provider(ctx, q.Privilege); err != nil {
			return decisionJSON{}, err
		}
	}
	allowed, err := r.policy.Decide(ctx, client, actionDecisionAsk, res)
	if err != nil {
		return decisionJSON{}, err
	}
	if !allowed.Allow {
		return notYours(), nil
	}
	d, err := r.opts.Runtime.Decide(ctx, q)
	if err != nil {
		return decisionJSON{}, err
	}
	return decisionJSON{Allow: d.Allow, Reasons: reasonsOut(d.Reasons)}, nil
}

// directory answers, from memory, the two facts the API policy needs about
// a question: the organisation of the user asked about, and the provider
// (the organisation owning the IT system) of the privilege asked about.
// Neither changes once written: a user never moves to another organisation,
// and a privilege keeps its URI and IT system, and an IT system its owner.
// So remembered answers need no invalidation; a provider is read again
// after providerTTL all the same, for a privilege deleted and its URI
// published again by someone else. Unknown users and URIs are not
// remembered (they may be created the next moment): each costs a query,
// bounded by the client's rate limit. A directory is safe for concurrent use.
type directory struct {
	store directoryStore
	now   func() time.Time

	mu        sync.RWMutex
	users     map[uuid.UUID]uuid.UUID
	providers map[string]providerEntry
}

// directoryStore is the repository behind a directory
// (postgres.RightsService).
type directoryStore interface {
	// OrgOfUser returns the user's organisation and status; ENOTFOUND.
	OrgOfUser(ctx context.Context, userID uuid.UUID) (uuid.UUID, string, error)
	// PrivilegeProviders returns the provider of each known URI.
	PrivilegeProviders(ctx context.Context, uris []string) (map[string]uuid.UUID, error)
}

type providerEntry struct {
	org uuid.UUID
	at  time.Time
}

const (
	// providerTTL is how long a privilege's provider is trusted.
	providerTTL = 10 * time.Minute
	// maxDirectory bounds each map: about 100 bytes an entry; past it the
	// map starts again empty.
	maxDirectory = 200_000
)

func newDirectory(store directoryStore, now func() time.Time) *directory {
	return &directory{store: store, now: now, users: map[uuid.UUID]uuid.UUID{}, providers: map[string]providerEntry{}}
}

// userOrg is the user's organisation; uuid.Nil for an unknown user.
func (d *directory) userOrg(ctx context.Context, user uuid.UUID) (uuid.UUID, error) {
	d.mu.RLock()
	org, ok := d.users[user]
	d.mu.RUnlock()
	if ok {
		return org, nil
	}
	org, _, err := d.store.OrgOfUser(ctx, user)
	switch domain.ErrorCode(err) {
	case "":
	case domain.ENOTFOUND:
		return uuid.Nil, nil
	default:
		return uuid.Nil, err
	}
	d.mu.Lock()
	if len(d.users) >= maxDirectory {
		d.users = map[uuid.UUID]uuid.UUID{}
	}
	d.users[user] = org
	d.mu.Unlock()
	return org, nil
}

// provider is the provider of the privilege with this URI; uuid.Nil for
// an unknown URI.
func (d *directory) provider(ctx context.Context, uri string) (uuid.UUID, error) {
	now := d.now()
	d.mu.RLock()
	e, ok := d.providers[uri]
	d.mu.RUnlock()
	if ok && now.Sub(e.at) < providerTTL {
		return e.org, nil
	}
	found, err := d.providersOf(ctx, []string{uri})
	return found[uri], err
}

// providersOf is the provider of each known URI of uris, reading the ones
// not remembered in one query.
func (d *directory) providersOf(ctx context.Context, uris []string) (map[string]uuid.UUID, error) {
	now := d.now()
	out := make(map[string]uuid.UUID, len(uris))
	var missing []string
	d.mu.RLock()
	for _, uri := range uris {
		if e, ok := d.providers[uri]; ok && now.Sub(e.at) < providerTTL {
			out[uri] = e.org
		} else {
			missing = append(missing, uri) // a URI twice is harmless
		}
	}
	d.mu.RUnlock()
	if len(missing) == 0 {
		return out, nil
	}
	found, err := d.store.PrivilegeProviders(ctx, missing)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	if len(d.providers)+len(found) > maxDirectory {
		d.providers = map[string]providerEntry{}
	}
	for uri, org := range found {
		d.providers[uri] = providerEntry{org: org, at: now}
		out[uri] = org
	}
	d.mu.Unlock()
	return out, nil
}
