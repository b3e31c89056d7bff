package mail

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/erhverv/erhverv/internal/domain"
)

func notification(template, lang string) domain.Notification {
	data := map[string]string{"OrgName": "Nordlys Rådgivning ApS", "ExpiresAt": "2026-05-17T12:30:00Z"}
	switch template {
	case "first_admin":
		data["RepresentativeName"] = "Birgitte Holm"
	case "activation":
		data["UserName"] = "Anna Jensen"
	case "request_decided":
		delete(data, "ExpiresAt")
		data["UserName"], data["Role"], data["ActorName"], data["Decision"], data["Comment"] = "Anna Jensen", "rights_admin", "Birgitte Holm", "rejected", "Ikke i denne omgang"
	case "request_created":
		delete(data, "ExpiresAt")
		data["UserName"], data["RequesterName"], data["Privilege"], data["Reason"] = "Anna Jensen", "Lars Vinther", "Indberet moms", "Jeg skal indberette moms for Aarhus"
	case "request_expired":
		delete(data, "ExpiresAt")
		data["UserName"], data["Role"] = "Anna Jensen", "user_admin"
	case "poa_offered", "poa_requested", "poa_answered", "poa_ended":
		delete(data, "ExpiresAt")
		data["UserName"], data["OtherName"] = "Anna Jensen", "Havbryg Revision I/S"
		switch template {
		case "poa_offered":
			data["OtherCVR"], data["Privileges"], data["PersonName"] = "95001238", "Indberet moms, Se moms", "Birgitte Holm"
		case "poa_requested":
			data["OtherCVR"], data["Privileges"], data["Reason"] = "95001238", "Indberet moms", "Vi fører regnskabet for jer"
		case "poa_answered":
			data["ActorName"], data["Decision"], data["Comment"] = "Birgitte Holm", "rejected", "Ikke i denne omgang"
		case "poa_ended":
			data["ActorName"] = "Birgitte Holm"
		}
	case "admin_role_assigned", "admin_role_removed":
		delete(data, "ExpiresAt")
		data["UserName"], data["Role"], data["ActorName"] = "Anna Jensen", "user_admin", "Birgitte Holm"
	}
	return domain.Notification{
		Template: template, Lang: lang, To: "anna@example.dk", Data: data,
		Secrets: map[string]string{"Link": "https://erhverv.example.dk/activate/abc123?x=1&y=2"},
	}
}

func TestRenderEveryTemplateInEveryLanguage(t *testing.T) {
	t.Parallel()
	// What each mail must say, beyond the fields themselves.
	want := map[string][]string{
		"first_admin.da":         {"første organisationsadministrator", "Birgitte Holm", "privat", "17. maj 2026 kl. 14.30"},
		"first_admin.en":         {"first organisation administrator", "Birgitte Holm", "private MitID", "17 May 2026 at 14:30 (Danish time)"},
		"activation.da":          {"Anna Jensen", "erhvervsidentitet", "privat", "17. maj 2026 kl. 14.30"},
		"activation.en":          {"Anna Jensen", "business identity", "private MitID", "17 May 2026 at 14:30 (Danish time)"},
		"admin_role_assigned.da": {"Anna Jensen", "Birgitte Holm", "har gjort dig til brugeradministrator"},
		"admin_role_assigned.en": {"Anna Jensen", "Birgitte Holm", "has made you user administrator"},
		"admin_role_removed.da":  {"Anna Jensen", "Birgitte Holm", "har fjernet din rolle som brugeradministrator"},
		"admin_role_removed.en":  {"Anna Jensen", "Birgitte Holm", "has removed your role as user administrator"},
		"request_decided.da":     {"Anna Jensen", "Birgitte Holm", "har afvist din anmodning om at blive rettighedsadministrator", "Ikke i denne omgang"},
		"request_decided.en":     {"Anna Jensen", "Birgitte Holm", "has rejected your request to become rights administrator", "Ikke i denne omgang"},
		"request_created.da":     {"Anna Jensen", "Lars Vinther", "anmoder om rettigheden »Indberet moms«", "Jeg skal indberette moms for Aarhus"},
		"request_created.en":     {"Anna Jensen", "Lars Vinther", "requests the privilege “Indberet moms”", "Jeg skal indberette moms for Aarhus"},
		"request_expired.da":     {"Anna Jensen", "om at blive brugeradministrator", "udløbet"},
		"request_expired.en":     {"Anna Jensen", "to become user administrator", "expired"},
		"poa_offered.da":         {"Anna Jensen", "Havbryg Revision I/S (CVR 95001238) tilbyder Birgitte Holm hos", "Indberet moms, Se moms"},
		"poa_offered.en":         {"Anna Jensen", "Havbryg Revision I/S (CVR 95001238) offers Birgitte Holm at", "Indberet moms, Se moms"},
		"poa_requested.da":       {"Anna Jensen", "Havbryg Revision I/S (CVR 95001238) beder", "Vi fører regnskabet for jer"},
		"poa_requested.en":       {"Anna Jensen", "Havbryg Revision I/S (CVR 95001238) asks", "Vi fører regnskabet for jer"},
		"poa_answered.da":        {"Anna Jensen", "Birgitte Holm fra Havbryg Revision I/S har afvist", "Ikke i denne omgang"},
		"poa_answered.en":        {"Anna Jensen", "Birgitte Holm of Havbryg Revision I/S has rejected", "Ikke i denne omgang"},
		"poa_ended.da":           {"Anna Jensen", "Birgitte Holm fra Havbryg Revision I/S har bragt", "fjernet"},
		"poa_ended.en":           {"Anna Jensen", "Birgitte Holm of Havbryg Revision I/S has ended", "removed"},
	}
	code := map[string]string{"da": "aktiveringskode", "en": "activation code"}
	for name := range specs {
		for _, lang := range Languages {
			codes := []string{"true", ""}
			if !slices.Contains(specs[name].optional, "NeedsCode") {
				codes = []string{""}
			}
			for _, needsCode := range codes {
				t.Run(name+"."+lang+"/NeedsCode="+needsCode, func(t *testing.T) {
					t.Parallel()
					n := notification(name, lang)
					if needsCode != "" {
						n.Data["NeedsCode"] = needsCode
					}
					m, err := Render(n)
					if err != nil {
						t.Fatalf("Render: %v", err)
					}
					if m.To != n.To {
						t.Errorf("To: got %q, want %q", m.To, n.To)
					}
					if !strings.Contains(m.Subject, "Nordlys Rådgivning ApS") || strings.ContainsAny(m.Subject, "\r\n") {
						t.Errorf("Subject: got %q, want one line naming the organisation", m.Subject)
					}
					for _, part := range []struct{ name, body string }{{"text", m.Text}, {"html", m.HTML}} {
						for _, s := range append(want[name+"."+lang], "Nordlys Rådgivning ApS") {
							if !strings.Contains(part.body, s) {
								t.Errorf("%s part: want %q in\n%s", part.name, s, part.body)
							}
						}
						if got := strings.Contains(part.body, code[lang]); got != (needsCode == "true") {
							t.Errorf("%s part: mentions the %s: got %v, want %v", part.name, code[lang], got, needsCode == "true")
						}
						if strings.Contains(part.body, "<no value>") || strings.Contains(part.body, "{{") {
							t.Errorf("%s part has an unfilled field:\n%s", part.name, part.body)
						}
					}
					if !strings.Contains(m.Text, "https://erhverv.example.dk/activate/abc123?x=1&y=2") {
						t.Errorf("text part: want the link as is:\n%s", m.Text)
					}
					if !strings.Contains(m.HTML, `href="https://erhverv.example.dk/activate/abc123?x=1&amp;y=2"`) {
						t.Errorf("html part: want the link in an href:\n%s", m.HTML)
					}
					if !strings.Contains(m.HTML, `<html lang="`+lang+`">`) {
						t.Errorf("html part: want <html lang=%q>", lang)
					}
					if strings.Contains(m.Text, "\n\n\n") {
						t.Errorf("text part has runs of blank lines:\n%s", m.Text)
					}
				})
			}
		}
	}
}

func TestRenderEscapesHTML(t *testing.T) {
	t.Parallel()
	n := notification("activation", "en")
	n.Data["UserName"] = `<script>alert("x")</script>`
	n.Data["OrgName"] = `Smith & Sons "<b>"`
	n.Secrets["Link"] = `https://example.dk/a?b="><img src=x onerror=alert(1)>`
	m, err := Render(n)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script>", "<b>", `"><img`, "<img src=x"} {
		if strings.Contains(m.HTML, bad) {
			t.Errorf("html part contains %q unescaped:\n%s", bad, m.HTML)
		}
	}
	for _, good := range []string{"&lt;script&gt;", "Smith &amp; Sons"} {
		if !strings.Contains(m.HTML, good) {
			t.Errorf("html part: want %q", good)
		}
	}
	if !strings.Contains(m.Text, `<script>alert("x")</script>`) {
		t.Errorf("text part: want the name as given, text is not HTML:\n%s", m.Text)
	}
}

func TestValidateRejects(t *testing.T) {
	t.Parallel()
	link := "https://erhverv.example.dk/activate/abc123?x=1&y=2"
	cases := []struct {
		name   string
		change func(*domain.Notification)
	}{
		{"unknown template", func(n *domain.Notification) { n.Template = "welcome" }},
		{"unknown language", func(n *domain.Notification) { n.Lang = "de" }},
		{"recipient not an address", func(n *domain.Notification) { n.To = "anna" }},
		{"recipient with a name", func(n *domain.Notification) { n.To = "Anna <anna@example.dk>" }},
		{"missing field", func(n *domain.Notification) { delete(n.Data, "UserName") }},
		{"blank field", func(n *domain.Notification) { n.Data["UserName"] = "  " }},
		{"missing secret", func(n *domain.Notification) { delete(n.Secrets, "Link") }},
		{"unknown field", func(n *domain.Notification) { n.Data["Linkk"] = link }},
		{"field for another template", func(n *domain.Notification) { n.Data["RepresentativeName"] = "x" }},
		{"field twice", func(n *domain.Notification) { n.Data["Link"] = link }},
		{"line break", func(n *domain.Notification) { n.Data["OrgName"] = "A\r\nBcc: x@example.dk" }},
		{"link not http", func(n *domain.Notification) { n.Secrets["Link"] = "javascript:alert(1)" }},
		{"link relative", func(n *domain.Notification) { n.Secrets["Link"] = "/activate/abc123" }},
		{"expiry not RFC 3339", func(n *domain.Notification) { n.Data["ExpiresAt"] = "17. maj 2026" }},
		{"needs code not a bool", func(n *domain.Notification) { n.Data["NeedsCode"] = "yes" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			n := notification("activation", "da")
			c.change(&n)
			err := Validate(n)
			if got := domain.ErrorCode(err); got != domain.EINVALID {
				t.Fatalf("Validate: got %v (code %q), want %q", err, got, domain.EINVALID)
			}
			if secret := n.Secrets["Link"]; secret != "" && strings.Contains(err.Error(), secret) {
				t.Errorf("the error quotes the secret link: %v", err)
			}
			if _, err := Render(n); domain.ErrorCode(err) != domain.EINVALID {
				t.Errorf("Render: got %v, want the same refusal", err)
			}
		})
	}
	if err := Validate(notification("activation", "da")); err != nil {
		t.Errorf("Validate of a good notification: %v", err)
	}
}

func TestFormatTime(t *testing.T) {
	t.Parallel()
	cases := []struct {
		at     string
		da, en string
	}{
		{"2026-05-17T12:30:00Z", "17. maj 2026 kl. 14.30", "17 May 2026 at 14:30 (Danish time)"},         // summer time, UTC+2
		{"2026-12-01T07:05:00Z", "1. december 2026 kl. 08.05", "1 December 2026 at 08:05 (Danish time)"}, // winter time, UTC+1
	}
	for _, c := range cases {
		at, err := time.Parse(time.RFC3339, c.at)
		if err != nil {
			t.Fatal(err)
		}
		if got := formatTime(at, "da"); got != c.da {
			t.Errorf("formatTime(%s, da): got %q, want %q", c.at, got, c.da)
		}
		if got := formatTime(at, "en"); got != c.en {
			t.Errorf("formatTime(%s, en): got %q, want %q", c.at, got, c.en)
		}
	}
}

// A request for a privilege names the privilege where a role request names
// the role, in every request mail.
func TestRequestMailsNameAPrivilege(t *testing.T) {
	t.Parallel()
	want := map[string]string{"da": "rettigheden »Indberet moms«", "en": "the privilege “Indberet moms”"}
	for _, name := range []string{"request_decided", "request_created", "request_expired"} {
		for _, lang := range Languages {
			n := notification(name, lang)
			delete(n.Data, "Role")
			n.Data["Privilege"] = "Indberet moms"
			m, err := Render(n)
			if err != nil {
				t.Fatalf("%s.%s: %v", name, lang, err)
			}
			for _, body := range []string{m.Text, m.HTML} {
				if !strings.Contains(body, want[lang]) || strings.Contains(body, "administrator") {
					t.Errorf("%s.%s: want %q and no role in\n%s", name, lang, want[lang], body)
				}
			}
		}
	}
}
