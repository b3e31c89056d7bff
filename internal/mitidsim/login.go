package mitidsim

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

//go:embed web/login.html web/sim.css
var webFS embed.FS

var (
	pageTemplates = template.Must(template.ParseFS(webFS, "web/login.html"))
	cssBody       = mustRead("web/sim.css")
	// cssURL carries a content hash so the stylesheet can be cached for long.
	cssURL = func() string {
		sum := sha256.Sum256(cssBody)
		return pathCSS + "?v=" + hex.EncodeToString(sum[:6])
	}()
)

func mustRead(name string) []byte {
	b, err := webFS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return b
}

// contentSecurityPolicy allows the page nothing but its own stylesheet.
// form-action is left out on purpose: browsers apply it to the redirect
// back to the client after the login form is posted.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; base-uri 'none'; frame-ancestors 'none'"

func serveCSS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(cssBody)
}

// loginView is the login page shaped like the screen.
type loginView struct {
	CSS            string
	ID             string
	ClientID       string
	MinLevel       Level
	Error          string
	Created        string
	Authenticators []authenticatorOption
	Identities     []identityRow
	CreateErrors   ValidationError
	Form           createForm
	Levels         []Level
}

type authenticatorOption struct {
	authenticator
	Disabled, Selected bool
}

type identityRow struct {
	Identity
	Disabled bool
	Reason   string
	Created  bool
}

// createForm holds what the tester typed, to show it again after an error.
type createForm struct {
	FirstName, LastName, CPR, BirthDate, IAL, Represents string
}

type messageView struct {
	CSS, Title, TitleEN, Message, MessageEN string
}

func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("render page", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) renderMessage(w http.ResponseWriter, status int, title, titleEN, msg, msgEN string) {
	s.render(w, status, "message", messageView{CSS: cssURL, Title: title, TitleEN: titleEN, Message: msg, MessageEN: msgEN})
}

func (s *Server) requestGone(w http.ResponseWriter) {
	s.renderMessage(w, http.StatusBadRequest,
		"Login-forespørgslen findes ikke", "Unknown login request",
		"Forespørgslen findes ikke eller er udløbet. Start forfra hos tjenesten.",
		"The request is unknown or has expired. Start again at the service.")
}

// loginView builds the page for the request: choices below the requested
// level are disabled, and the first authenticator that reaches it is
// preselected unless the tester chose another.
func (s *Server) loginView(r *authRequest, chosen string) loginView {
	v := loginView{CSS: cssURL, ID: r.ID, ClientID: r.ClientID, MinLevel: r.MinLevel, Levels: []Level{LevelLow, LevelSubstantial, LevelHigh}}
	if _, ok := authenticatorByValue(chosen); !ok {
		chosen = ""
	}
	for _, a := range authenticators {
		o := authenticatorOption{authenticator: a, Disabled: a.AAL < r.MinLevel}
		if chosen == "" && !o.Disabled {
			chosen = a.Value
		}
		o.Selected = a.Value == chosen
		v.Authenticators = append(v.Authenticators, o)
	}
	for _, id := range s.identities.list() {
		row := identityRow{Identity: id}
		if id.IAL < r.MinLevel {
			row.Disabled = true
			row.Reason = "Identitetssikring " + id.IAL.Danish() + " er under det krævede niveau " + r.MinLevel.Danish()
		}
		v.Identities = append(v.Identities, row)
	}
	return v
}

// loginPage shows the identities for one authorization request.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	req, err := s.storage.authRequest(r.URL.Query().Get("id"))
	if err != nil {
		s.requestGone(w)
		return
	}
	v := s.loginView(req, "")
	if created := r.URL.Query().Get("created"); created != "" {
		if _, ok := s.identities.get(created); ok {
			v.Created = created
			for i := range v.Identities {
				v.Identities[i].Created = v.Identities[i].Subject == created
			}
		}
	}
	s.render(w, http.StatusOK, "login", v)
}

// loginSubmit logs the chosen identity in with the chosen authenticator and
// sends the browser to the OP's callback, which issues the code. A choice
// below the requested level is refused here as well as on the page.
func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	id, subject, auth := trimmed(r, "id"), trimmed(r, "subject"), trimmed(r, "authenticator")
	req, err := s.storage.completeLogin(id, subject, auth)
	if err != nil {
		current, gone := s.storage.authRequest(id)
		if gone != nil {
			s.requestGone(w)
			return
		}
		msg := "Login mislykkedes."
		if le, ok := errorAs[*loginError](err); ok {
			msg = le.msg
		}
		s.log.Info("login refused", "request", id, "subject", subject, "authenticator", auth)
		v := s.loginView(current, auth)
		v.Error = msg
		s.render(w, http.StatusBadRequest, "login", v)
		return
	}
	s.log.Info("login", "request", id, "client_id", req.ClientID, "subject", subject,
		"authenticator", auth, "loa", req.login.LoA.String())
	http.Redirect(w, r, op.AuthCallbackURL(s.provider)(r.Context(), id), http.StatusFound)
}

// loginCancel returns error=access_denied to the client.
func (s *Server) loginCancel(w http.ResponseWriter, r *http.Request) {
	req, err := s.storage.cancelLogin(trimmed(r, "id"))
	if err != nil {
		s.requestGone(w)
		return
	}
	s.log.Info("login cancelled", "request", req.ID, "client_id", req.ClientID)
	op.AuthRequestError(w, r, req, oidc.ErrAccessDenied().WithDescription("The user cancelled the login."), s.provider)
}

// identityCreate creates a test identity from the form and shows the login
// page again with it.
func (s *Server) identityCreate(w http.ResponseWriter, r *http.Request) {
	req, err := s.storage.authRequest(trimmed(r, "id"))
	if err != nil {
		s.requestGone(w)
		return
	}
	form := createForm{
		FirstName:  trimmed(r, "first_name"),
		LastName:   trimmed(r, "last_name"),
		CPR:        trimmed(r, "cpr"),
		BirthDate:  trimmed(r, "birth_date"),
		IAL:        trimmed(r, "ial"),
		Represents: trimmed(r, "represents"),
	}
	ial, _ := ParseLevel(form.IAL) // an unknown level stays 0 and is refused below
	ident, err := s.CreateIdentity(IdentityInput{
		FirstName:  form.FirstName,
		LastName:   form.LastName,
		CPR:        form.CPR,
		BirthDate:  form.BirthDate,
		IAL:        ial,
		Represents: splitCVRs(form.Represents),
	})
	if err != nil {
		verr, ok := errorAs[ValidationError](err)
		if !ok {
			s.log.Error("create identity", "err", err)
			verr = ValidationError{{Field: "", Message: "Testidentiteten kunne ikke gemmes. Se simulatorens log."}}
		}
		v := s.loginView(req, "")
		v.CreateErrors = verr
		v.Form = form
		s.render(w, http.StatusUnprocessableEntity, "login", v)
		return
	}
	q := url.Values{"id": {req.ID}, "created": {ident.Subject}}
	http.Redirect(w, r, pathLogin+"?"+q.Encode(), http.StatusSeeOther)
}

func (s *Server) loggedOut(w http.ResponseWriter, _ *http.Request) {
	s.renderMessage(w, http.StatusOK, "Du er logget ud", "You are logged out",
		"Du er logget ud af MitID-simulatoren.", "You are logged out of the MitID simulator.")
}

// hasField reports whether the validation error concerns the form field.
func (e ValidationError) hasField(field string) bool {
	for _, f := range e {
		if f.Field == field {
			return true
		}
	}
	return false
}

// FieldClass marks a refused field for the stylesheet.
func (v loginView) FieldClass(field string) string {
	if v.CreateErrors.hasField(field) {
		return "invalid"
	}
	return ""
}

// cprDisplay writes a CPR as DDMMYY-SSSS.
func cprDisplay(cpr string) string {
	if len(cpr) != 10 {
		return cpr
	}
	return cpr[:6] + "-" + cpr[6:]
}

// CPRDisplay is the row's CPR as DDMMYY-SSSS, for the page.
func (r identityRow) CPRDisplay() string { return cprDisplay(r.CPR) }

// RepresentsText lists the CVR numbers for the page.
func (r identityRow) RepresentsText() string { return strings.Join(r.Represents, ", ") }
