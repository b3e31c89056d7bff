package api

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

// usersPath is where the users live; a user is usersPath/<id>.
const usersPath = "/api/v1/users"

// mailLang is the language of the mails the API's changes send (activation
// links, role notices): the people they reach are Danish staff.
const mailLang = "da"

// mountUsers registers the users endpoints.
func (a *API) mountUsers(g *gin.RouterGroup) {
	g.GET("/users", a.listUsers)
	g.POST("/users", a.idempotent, a.createUser)
	g.GET("/users/:id", a.getUser)
	g.PATCH("/users/:id", a.updateUser)
	g.DELETE("/users/:id", a.userStatus(authz.ActionUserDelete, domain.UserDeleted))
	g.POST("/users/:id/deactivate", a.userStatus(authz.ActionUserDeactivate, domain.UserDeactivated))
	g.POST("/users/:id/reactivate", a.userStatus(authz.ActionUserReactivate, domain.UserActive))
}

// userJSON is a user as the API shows it. The CPR number never leaves the
// platform; has_cpr says whether one is stored.
type userJSON struct {
	ID               uuid.UUID  `json:"id"`
	Status           string     `json:"status"`
	FirstName        string     `json:"first_name"`
	LastName         string     `json:"last_name"`
	Email            string     `json:"email"`
	Phone            string     `json:"phone,omitempty"`
	BirthDate        string     `json:"birth_date,omitempty"`
	HasCPR           bool       `json:"has_cpr"`
	ProductionUnitID *uuid.UUID `json:"production_unit_id,omitempty"`
	SENumberID       *uuid.UUID `json:"se_number_id,omitempty"`
	Anonymous        bool       `json:"anonymous"`
	EmployeeNumber   string     `json:"employee_number,omitempty"`
	Department       string     `json:"department,omitempty"`
	Version          int        `json:"version"`
	ActivatedAt      *time.Time `json:"activated_at,omitempty"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

func userOut(u *domain.User) userJSON {
	out := userJSON{ID: u.ID, Status: u.Status, FirstName: u.FirstName, LastName: u.LastName, Email: u.Email, Phone: u.Phone,
		HasCPR: u.HasCPR, ProductionUnitID: u.ProductionUnitID, SENumberID: u.SENumberID, Anonymous: u.Anonymous,
		EmployeeNumber: u.ExtraFields["employee_number"], Department: u.ExtraFields["department"], Version: u.Version,
		CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC()}
	if !u.BirthDate.IsZero() {
		out.BirthDate = u.BirthDate.Format(time.DateOnly)
	}
	if u.ActivatedAt != nil {
		t := u.ActivatedAt.UTC()
		out.ActivatedAt = &t
	}
	return out
}

// userCursor is the keyset position of a page of users.
type userCursor struct {
	LastName  string    `json:"l"`
	FirstName string    `json:"f"`
	ID        uuid.UUID `json:"i"`
}

func (a *API) listUsers(c *gin.Context) {
	cl := ClientOf(c)
	if !a.authorize(c, authz.ActionUserRead, Resource{OrgID: cl.OrgID}) {
		return
	}
	limit, cursor, ok := a.pageParams(c)
	if !ok {
		return
	}
	f := domain.UserFilter{OrgID: cl.OrgID, Query: strings.TrimSpace(c.Query("q")), Limit: limit}
	switch f.Status = c.Query("status"); f.Status {
	case "", domain.UserPending, domain.UserActive, domain.UserDeactivated, domain.UserDeleted:
	default:
		a.problemf(c, http.StatusBadRequest, domain.EINVALID, "The status filter is not valid; see errors.",
			FieldError{Field: "status", Code: "user.status", Detail: "status is one of pending, active, deactivated and deleted."})
		return
	}
	if cursor != "" {
		var cur userCursor
		if !a.decodeCursor(c, cursor, &cur) {
			return
		}
		f.After = &domain.UserCursor{LastName: cur.LastName, FirstName: cur.FirstName, ID: cur.ID}
	}
	users, more, err := a.opts.Users.FindUsers(c.Request.Context(), f)
	if err != nil {
		a.problem(c, err)
		return
	}
	items := make([]userJSON, len(users))
	for i, u := range users {
		items[i] = userOut(u)
	}
	next := ""
	if more && len(users) > 0 {
		last := users[len(users)-1]
		next = encodeCursor(userCursor{LastName: last.LastName, FirstName: last.FirstName, ID: last.ID})
	}
	a.page(c, items, next)
}

// userCreate is the body of POST /users.
type userCreate struct {
	FirstName        string `json:"first_name"`
	LastName         string `json:"last_name"`
	Email            string `json:"email"`
	Phone            string `json:"phone"`
	CPR              string `json:"cpr"`
	BirthDate        string `json:"birth_date"`
	ProductionUnitID string `json:"production_unit_id"`
	Anonymous        bool   `json:"anonymous"`
	EmployeeNumber   string `json:"employee_number"`
	Department       string `json:"department"`
}

// userCreated is the answer to POST /users: the user and the activation
// that was mailed, with the one-time code for a person without CPR.
type userCreated struct {
	userJSON
	Activation struct {
		ExpiresAt time.Time `json:"expires_at"`
		Code      string    `json:"code,omitempty"`
	} `json:"activation"`
}

func (a *API) createUser(c *gin.Context) {
	cl := ClientOf(c)
	if !a.authorize(c, authz.ActionUserCreate, Resource{OrgID: cl.OrgID}) {
		return
	}
	var in userCreate
	if !a.bind(c, &in) {
		return
	}
	u := &domain.User{OrgID: cl.OrgID, FirstName: strings.TrimSpace(in.FirstName), LastName: strings.TrimSpace(in.LastName),
		Email: strings.TrimSpace(in.Email), Phone: strings.TrimSpace(in.Phone), CPR: domain.NormalizeDigits(in.CPR), Anonymous: in.Anonymous,
		ExtraFields: map[string]string{}}
	setExtra(u, "employee_number", in.EmployeeNumber)
	setExtra(u, "department", in.Department)
	var errs domain.ValidationErrors
	u.ProductionUnitID = parseOptionalID(&errs, "production_unit_id", in.ProductionUnitID)
	if in.BirthDate != "" {
		u.BirthDate = parseDate(&errs, "birth_date", in.BirthDate)
	}
	if err := errs.Err(); err != nil {
		a.problem(c, err)
		return
	}
	issued, err := a.opts.Admin.CreateUser(c.Request.Context(), a.actor(c), u, mailLang)
	if err != nil {
		a.problem(c, apiFields(err))
		return
	}
	out := userCreated{userJSON: userOut(u)}
	out.Activation.ExpiresAt, out.Activation.Code = issued.ExpiresAt.UTC(), issued.Code
	c.Header("Location", usersPath+"/"+u.ID.String())
	setETag(c, u.Version)
	c.JSON(http.StatusCreated, out)
}

// ownUser finds the user the path's :id names in the client's organisation
// after the action was allowed. A malformed id, an unknown one and another
// organisation's are the same 404.
func (a *API) ownUser(c *gin.Context, action string) (*domain.User, bool) {
	return ownObject(a, c, action, "user", a.opts.Users.FindUserByID)
}

// ownObject asks the policy for action in the client's organisation, then
// finds the object the path's :id names there with find (which answers
// ENOTFOUND for another organisation's); false when it has answered.
func ownObject[T any](a *API, c *gin.Context, action, what string, find func(ctx context.Context, orgID, id uuid.UUID) (T, error)) (T, bool) {
	var zero T
	cl := ClientOf(c)
	if !a.authorize(c, action, Resource{OrgID: cl.OrgID}) {
		return zero, false
	}
	id, ok := a.ownID(c, "id", what)
	if !ok {
		return zero, false
	}
	obj, err := find(c.Request.Context(), cl.OrgID, id)
	if err != nil {
		a.problem(c, err)
		return zero, false
	}
	return obj, true
}

func (a *API) getUser(c *gin.Context) {
	u, ok := a.ownUser(c, authz.ActionUserRead)
	if !ok {
		return
	}
	setETag(c, u.Version)
	c.JSON(http.StatusOK, userOut(u))
}

// respondUser reads the user again (its new version and times) and answers
// 200 with it.
func (a *API) respondUser(c *gin.Context, id uuid.UUID) {
	u, err := a.opts.Users.FindUserByID(c.Request.Context(), ClientOf(c).OrgID, id)
	if err != nil {
		a.problem(c, err)
		return
	}
	setETag(c, u.Version)
	c.JSON(http.StatusOK, userOut(u))
}

// userPatch is the body of PATCH /users/{id}: a JSON merge patch.
type userPatch struct {
	FirstName        mergeField[string] `json:"first_name"`
	LastName         mergeField[string] `json:"last_name"`
	Email            mergeField[string] `json:"email"`
	Phone            mergeField[string] `json:"phone"`
	BirthDate        mergeField[string] `json:"birth_date"`
	ProductionUnitID mergeField[string] `json:"production_unit_id"`
	Anonymous        mergeField[bool]   `json:"anonymous"`
	EmployeeNumber   mergeField[string] `json:"employee_number"`
	Department       mergeField[string] `json:"department"`
}

// apply merges the patch into u and collects what is wrong with it.
func (p *userPatch) apply(u *domain.User) error {
	var errs domain.ValidationErrors
	required := func(f mergeField[string], name string, into *string) {
		if f.Null {
			errs.Add(domain.Invalid(name, "patch.required", name+" cannot be removed; give a new value or leave it out."))
		} else if f.Set {
			*into = strings.TrimSpace(f.Value)
		}
	}
	required(p.FirstName, "first_name", &u.FirstName)
	required(p.LastName, "last_name", &u.LastName)
	required(p.Email, "email", &u.Email)
	if p.Phone.Set {
		u.Phone = strings.TrimSpace(p.Phone.Value)
	}
	if p.Anonymous.Null {
		errs.Add(domain.Invalid("anonymous", "patch.required", "anonymous is true or false."))
	} else if p.Anonymous.Set {
		u.Anonymous = p.Anonymous.Value
	}
	if p.ProductionUnitID.Set {
		u.ProductionUnitID = parseOptionalID(&errs, "production_unit_id", p.ProductionUnitID.Value)
	}
	for name, f := range map[string]mergeField[string]{"employee_number": p.EmployeeNumber, "department": p.Department} {
		if f.Set {
			setExtra(u, name, f.Value)
		}
	}
	switch {
	case !p.BirthDate.Set:
	case u.HasCPR:
		errs.Add(domain.Invalid("birth_date", "user.birth_date_cpr_fixed", "The date of birth comes from the user's CPR number and cannot be changed."))
	case p.BirthDate.Null:
		errs.Add(domain.Invalid("birth_date", "user.birth_date_required", "A user without CPR needs a date of birth."))
	default:
		u.BirthDate = parseDate(&errs, "birth_date", p.BirthDate.Value)
	}
	return errs.Err()
}

func (a *API) updateUser(c *gin.Context) {
	cur, ok := a.ownUser(c, authz.ActionUserUpdate)
	if !ok {
		return
	}
	version, present, ok := a.ifMatch(c)
	if !ok {
		return
	}
	var p userPatch
	if !a.bind(c, &p) {
		return
	}
	if present && version != cur.Version {
		a.stale(c)
		return
	}
	if cur.Status == domain.UserDeleted {
		a.problemf(c, http.StatusConflict, domain.ECONFLICT, "The user is deleted; a deleted user's data cannot be changed.")
		return
	}
	u := *cur
	u.ExtraFields = maps.Clone(cur.ExtraFields)
	if err := p.apply(&u); err != nil {
		a.problem(c, err)
		return
	}
	if err := a.opts.Admin.UpdateUser(c.Request.Context(), a.actor(c), &u); err != nil {
		a.changeProblem(c, err, present)
		return
	}
	a.respondUser(c, u.ID)
}

// userStatus answers a status change to the status to, which the policy
// must allow as action. Asking for the status the user has already is
// answered as a success and changes nothing, so a retry is harmless.
func (a *API) userStatus(action, to string) gin.HandlerFunc {
	return func(c *gin.Context) {
		u, ok := a.ownUser(c, action)
		if !ok {
			return
		}
		version, present, ok := a.ifMatch(c)
		if !ok {
			return
		}
		if present && version != u.Version {
			a.stale(c)
			return
		}
		if u.Status != to {
			if detail := transitionRefusal(u.Status, to); detail != "" {
				a.problemf(c, http.StatusConflict, domain.ECONFLICT, detail)
				return
			}
			if err := a.opts.Admin.SetStatus(c.Request.Context(), a.actor(c), u.OrgID, u.ID, u.Version, to); err != nil {
				a.changeProblem(c, err, present)
				return
			}
		}
		if to == domain.UserDeleted {
			c.Status(http.StatusNoContent)
			return
		}
		a.respondUser(c, u.ID)
	}
}

// transitionRefusal explains why a user in status from cannot be moved to
// status to through the API, or is "" when it can.
func transitionRefusal(from, to string) string {
	switch {
	case from == domain.UserDeleted:
		return "The user is deleted; a deleted user stays deleted."
	case from == domain.UserPending && to == domain.UserActive:
		return "The user has not activated their business identity yet; they become active by following the activation link they were mailed."
	case from == domain.UserPending && to == domain.UserDeactivated:
		return "The user has not activated their business identity yet, so there is nothing to deactivate; delete the user instead."
	case !domain.CanTransition(from, to):
		return "A " + from + " user cannot become " + to + "."
	}
	return ""
}

// changeProblem answers a failed change: a conflict with a change made in
// the meantime is 412 when the client sent If-Match (its precondition no
// longer holds) and 409 when it did not.
func (a *API) changeProblem(c *gin.Context, err error, ifMatch bool) {
	if domain.ErrorKey(err) == postgres.ErrStale.Key && ifMatch {
		a.stale(c)
		return
	}
	a.problem(c, apiFields(err))
}

// setExtra sets one of the user's organisation-defined fields; empty
// removes it.
func setExtra(u *domain.User, name, value string) {
	if value = strings.TrimSpace(value); value == "" {
		delete(u.ExtraFields, name)
		return
	}
	if u.ExtraFields == nil {
		u.ExtraFields = map[string]string{}
	}
	u.ExtraFields[name] = value
}

// mergeField is one field of a JSON merge patch (RFC 7396): Set when the
// body has it, Null when its value is null (remove), Value otherwise.
type mergeField[T any] struct {
	Set, Null bool
	Value     T
}

// UnmarshalJSON implements json.Unmarshaler; encoding/json calls it for
// null too, so an explicit null is told apart from a missing field.
func (f *mergeField[T]) UnmarshalJSON(b []byte) error {
	f.Set = true
	if string(b) == "null" {
		f.Null = true
		return nil
	}
	return json.Unmarshal(b, &f.Value)
}

// ownID reads the path parameter name as an id; a malformed one is
// answered 404 like an unknown one (what names the thing for the message).
func (a *API) ownID(c *gin.Context, name, what string) (uuid.UUID, bool) {
	id, err := uuid.Parse(c.Param(name))
	if err != nil {
		a.problemf(c, http.StatusNotFound, domain.ENOTFOUND, "The "+what+" does not exist.")
		return uuid.Nil, false
	}
	return id, true
}

// parseOptionalID reads an optional id field of a body ("" for none).
func parseOptionalID(errs *domain.ValidationErrors, field, s string) *uuid.UUID {
	if s == "" {
		return nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		errs.Add(domain.Invalid(field, "id.format", field+" must be an id (a UUID) of the organisation."))
		return nil
	}
	return &id
}

// parseDate reads a date field of a body (YYYY-MM-DD).
func parseDate(errs *domain.ValidationErrors, field, s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		errs.Add(domain.Invalid(field, "date.format", field+" must be a date written YYYY-MM-DD, such as 1985-04-23."))
	}
	return d
}

// apiFieldNames are the repository's field names that the API spells
// differently: references to other objects are ids in the API.
var apiFieldNames = map[string]string{"production_unit": "production_unit_id", "se_number": "se_number_id"}

// apiFields renames the fields of a domain error to the API's names. A
// reference field naming something that does not exist is a bad field of
// the body (400), not a missing resource (404).
func apiFields(err error) error {
	var verrs domain.ValidationErrors
	if errors.As(err, &verrs) {
		out := make(domain.ValidationErrors, len(verrs))
		for i, e := range verrs {
			out[i] = apiField(e)
		}
		return out
	}
	var e *domain.Error
	if errors.As(err, &e) && e.Field != "" {
		return apiField(e)
	}
	return err
}

func apiField(e *domain.Error) *domain.Error {
	name, ok := apiFieldNames[e.Field]
	if !ok {
		return e
	}
	out := *e
	out.Field = name
	if out.Code == domain.ENOTFOUND {
		out.Code = domain.EINVALID
	}
	return &out
}
