package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/erhverv/erhverv/internal/domain"
)

//go:embed templates
var templateFS embed.FS

// Languages are the languages every template exists in.
var Languages = []string{"da", "en"}

// spec lists a template's fields. Required ones must be given (in Data or
// Secrets); optional ones default to "". Any other field is a mistake.
type spec struct {
	required []string
	optional []string
}

// The fields, as the templates use them:
//
//   - OrgName, UserName, RepresentativeName: names as shown to people
//   - Link: the absolute http(s) URL the mail is about; put it in Secrets
//   - ExpiresAt: when Link stops working, RFC 3339; the mail shows it in
//     Danish time in the mail's language
//   - NeedsCode: "true" when the recipient must also type an activation
//     code they get from someone else (never from the mail)
var specs = map[string]spec{
	// To the first organisation administrator, appointed by a legal
	// representative of the organisation.
	"first_admin": {
		required: []string{"OrgName", "RepresentativeName", "Link", "ExpiresAt"},
		optional: []string{"NeedsCode"},
	},
	// To a user given, or relieved of, an administrator role. Role is the
	// role's code (org_admin, user_admin, rights_admin); ActorName is who did
	// it; Link leads to the portal.
	"admin_role_assigned": {required: []string{"OrgName", "UserName", "Role", "ActorName", "Link"}},
	"admin_role_removed":  {required: []string{"OrgName", "UserName", "Role", "ActorName", "Link"}},
	// Rights requests name what they are for by Role (an administrator
	// role's code) or by Privilege (a privilege's name in the mail's
	// language); one of the two is given.
	//
	// To a requester whose request was decided. Decision is "approved" or
	// "rejected"; Comment is the decider's.
	"request_decided": {required: []string{"OrgName", "UserName", "Decision", "ActorName", "Link"}, optional: []string{"Role", "Privilege", "Comment"}},
	// To those who decide a new request (UserName), or to the organisation's
	// notification address (no UserName). Reason is the requester's.
	"request_created": {required: []string{"OrgName", "RequesterName", "Reason", "Link"}, optional: []string{"UserName", "Role", "Privilege"}},
	// To a requester whose request was left undecided until it expired.
	"request_expired": {required: []string{"OrgName", "UserName", "Link"}, optional: []string{"Role", "Privilege"}},
	// Powers of attorney, to the administrators of one party (OrgName) about
	// the other (OtherName). Privileges lists the privileges' names.
	//
	// The grantor offers one; PersonName is the grantee's named person.
	"poa_offered": {required: []string{"OrgName", "UserName", "OtherName", "OtherCVR", "Privileges", "Link"}, optional: []string{"PersonName"}},
	// The grantee asks for one, with a Reason.
	"poa_requested": {required: []string{"OrgName", "UserName", "OtherName", "OtherCVR", "Privileges", "Reason", "Link"}},
	// The other side answered: Decision is "accepted", "rejected" (with a
	// Comment) or "granted".
	"poa_answered": {required: []string{"OrgName", "UserName", "OtherName", "Decision", "ActorName", "Link"}, optional: []string{"Comment"}},
	// The other side ended it.
	"poa_ended": {required: []string{"OrgName", "UserName", "OtherName", "ActorName", "Link"}},
	// To a user whose business identity an administrator created.
	"activation": {
		required: []string{"OrgName", "UserName", "Link", "ExpiresAt"},
		optional: []string{"NeedsCode"},
	},
}

type compiled struct {
	text *texttemplate.Template // defines "subject" and "body"
	html *htmltemplate.Template // the layout with "content"
}

var templates = mustParse()

func mustParse() map[string]compiled {
	layout := htmltemplate.Must(htmltemplate.New("layout.html").Option("missingkey=error").ParseFS(templateFS, "templates/layout.html"))
	out := make(map[string]compiled)
	for name := range specs {
		for _, lang := range Languages {
			base := "templates/" + name + "." + lang
			txt := texttemplate.Must(texttemplate.New(name).Option("missingkey=error").ParseFS(templateFS, base+".txt"))
			html := htmltemplate.Must(htmltemplate.Must(layout.Clone()).ParseFS(templateFS, base+".html"))
			for _, t := range []string{"subject", "body"} {
				if txt.Lookup(t) == nil {
					panic(fmt.Sprintf("mail template %s.txt defines no %q", base, t))
				}
			}
			out[name+"."+lang] = compiled{text: txt, html: html}
		}
	}
	return out
}

// Known reports whether a template of that name exists.
func Known(template string) bool {
	_, ok := specs[template]
	return ok
}

// Validate checks that n can be rendered: a known template and language, a
// recipient address, every required field and no unknown one, a Link that
// is an absolute http(s) URL and an ExpiresAt in RFC 3339. Errors are
// domain.EINVALID and never quote a secret's value.
func Validate(n domain.Notification) error {
	_, err := fields(n)
	return err
}

// Render fills n's template with n.Data and n.Secrets (which must be in
// clear by now) in n.Lang.
func Render(n domain.Notification) (Message, error) {
	f, err := fields(n)
	if err != nil {
		return Message{}, err
	}
	t := templates[n.Template+"."+n.Lang]
	var subject, text, html bytes.Buffer
	if err := t.text.ExecuteTemplate(&subject, "subject", f); err != nil {
		return Message{}, fmt.Errorf("render %s subject: %w", n.Template, err)
	}
	if err := t.text.ExecuteTemplate(&text, "body", f); err != nil {
		return Message{}, fmt.Errorf("render %s text: %w", n.Template, err)
	}
	// One line, whatever the template's whitespace.
	f["Subject"] = strings.Join(strings.Fields(subject.String()), " ")
	f["Lang"] = n.Lang
	if err := t.html.Execute(&html, f); err != nil {
		return Message{}, fmt.Errorf("render %s html: %w", n.Template, err)
	}
	return Message{To: n.To, Subject: f["Subject"], Text: tidyText(text.String()), HTML: html.String()}, nil
}

// fields validates n and returns the values the templates see.
func fields(n domain.Notification) (map[string]string, error) {
	sp, ok := specs[n.Template]
	if !ok {
		return nil, domain.Invalid("template", "mail.template", fmt.Sprintf("There is no mail template %q.", n.Template))
	}
	if n.Lang != "da" && n.Lang != "en" {
		return nil, domain.Invalid("lang", "mail.lang", fmt.Sprintf("Mails are written in Danish (da) or English (en), not %q.", n.Lang))
	}
	if err := domain.ValidateEmail("to", n.To); err != nil {
		return nil, err
	}
	f := make(map[string]string, len(sp.required)+len(sp.optional)+2)
	for _, k := range sp.optional {
		f[k] = ""
	}
	allowed := make(map[string]bool, len(sp.required)+len(sp.optional))
	for _, k := range sp.required {
		allowed[k] = true
	}
	for _, k := range sp.optional {
		allowed[k] = true
	}
	for k := range n.Secrets {
		if _, dup := n.Data[k]; dup {
			return nil, domain.Invalid(k, "mail.field", fmt.Sprintf("The field %q is given both as data and as a secret.", k))
		}
	}
	for _, src := range []map[string]string{n.Data, n.Secrets} {
		for k, v := range src {
			if !allowed[k] {
				return nil, domain.Invalid(k, "mail.field", fmt.Sprintf("The %s mail has no field %q.", n.Template, k))
			}
			if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				return nil, domain.Invalid(k, "mail.control", fmt.Sprintf("The %s field contains a line break or another control character.", k))
			}
			f[k] = v
		}
	}
	for _, k := range sp.required {
		if strings.TrimSpace(f[k]) == "" {
			return nil, domain.Invalid(k, "mail.field", fmt.Sprintf("The %s mail needs the field %q.", n.Template, k))
		}
	}
	if v, ok := f["Link"]; ok {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, domain.Invalid("Link", "mail.link", "The link must be an absolute http or https URL.")
		}
	}
	if v, ok := f["ExpiresAt"]; ok {
		at, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, domain.Invalid("ExpiresAt", "mail.expires", fmt.Sprintf("ExpiresAt must be an RFC 3339 time such as 2026-05-17T14:30:00Z, got %q.", v))
		}
		f["ExpiresAt"] = formatTime(at, n.Lang)
	}
	if v := f["NeedsCode"]; v != "" && v != "true" && v != "false" {
		return nil, domain.Invalid("NeedsCode", "mail.needs_code", fmt.Sprintf("NeedsCode is \"true\", \"false\" or empty, not %q.", v))
	}
	return f, nil
}

// formatTime writes t in Danish time, the way each language writes dates:
// "17. maj 2026 kl. 14.30" and "17 May 2026 at 14:30 (Danish time)".
func formatTime(t time.Time, lang string) string {
	t = t.In(domain.DanishTime)
	if lang == "da" {
		return domain.FormatDate(t, lang) + fmt.Sprintf(" kl. %02d.%02d", t.Hour(), t.Minute())
	}
	return domain.FormatDate(t, lang) + t.Format(" at 15:04") + " (Danish time)"
}

// tidyText trims trailing spaces and collapses the blank lines that
// conditional blocks leave behind.
func tidyText(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	out := make([]string, 0, len(lines))
	blank := false
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			if blank {
				continue
			}
			blank = true
		} else {
			blank = false
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n") + "\n"
}
