package devmail

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/erhverv/erhverv/internal/mail"
)

// start runs a catcher on a free port and returns it with its SMTP address.
func start(t *testing.T) (*Server, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(nil)
	go func() { _ = s.ServeSMTP(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s, l.Addr().String()
}

func waitFor(t *testing.T, s *Server, match func(Message) bool) Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := s.Wait(ctx, match)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParsesWhatGoMailSends(t *testing.T) {
	t.Parallel()
	s, addr := start(t)
	sender, err := mail.NewSMTPSender(mail.SMTPConfig{Addr: addr, From: "Ærø Kommune <noreply@example.dk>", TLS: mail.TLSNone, Username: "dev", Password: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	// Non-ASCII everywhere, a long line (so quoted-printable soft breaks),
	// and characters HTML must escape.
	text := "Kære Åse,\n\n" + strings.Repeat("blåbærgrød ", 20) + "\n\nHilsen\n"
	html := `<p lang="da">Kære Åse, <a href="https://example.dk/a?b=1&amp;c=2">link</a> æøå</p>`
	want := mail.Message{To: "aase@example.dk", Subject: "Velkommen til Ærø – næste skridt", Text: text, HTML: html}
	if err := sender.Send(context.Background(), want); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := waitFor(t, s, func(m Message) bool { return true })
	checks := []struct{ what, got, want string }{
		{"subject", got.Subject, want.Subject},
		{"from", got.From, "Ærø Kommune <noreply@example.dk>"},
		{"to", strings.Join(got.To, ","), want.To},
		{"text", strings.ReplaceAll(got.Text, "\r\n", "\n"), want.Text},
		{"html", strings.ReplaceAll(got.HTML, "\r\n", "\n"), want.HTML},
		{"smtp user", got.AuthUser, "dev"},
		{"auto-submitted", strings.Join(got.Headers["Auto-Submitted"], ","), "auto-generated"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.what, c.got, c.want)
		}
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, raw                 string
		subject, text, html, from string
	}{
		{
			name:    "plain, no content type",
			raw:     "From: a@example.dk\r\nSubject: Hi\r\n\r\nHello\r\n",
			subject: "Hi", text: "Hello\r\n", from: "a@example.dk",
		},
		{
			name: "alternative, base64 and quoted-printable, encoded subject",
			raw: "From: =?utf-8?q?S=C3=B8ren?= <s@example.dk>\r\nSubject: =?utf-8?b?w4ZibGVncsO4ZA==?=\r\nMIME-Version: 1.0\r\n" +
				"Content-Type: multipart/alternative; boundary=XX\r\n\r\n" +
				"--XX\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nbl=C3=A5b=C3=A6r=\r\ngr=C3=B8d\r\n" +
				"--XX\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nPHA+\r\nw6bDuMOlPC9wPg==\r\n" +
				"--XX--\r\n",
			subject: "Æblegrød", text: "blåbærgrød", html: "<p>æøå</p>", from: "Søren <s@example.dk>",
		},
		{
			name: "mixed with nested alternative and an attachment, Latin-1",
			raw: "From: a@example.dk\r\nSubject: Bilag\r\nContent-Type: multipart/mixed; boundary=OUT\r\n\r\n" +
				"--OUT\r\nContent-Type: multipart/alternative; boundary=IN\r\n\r\n" +
				"--IN\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\nK\xe6re\r\n" +
				"--IN\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<b>Kære</b>\r\n" +
				"--IN--\r\n" +
				"--OUT\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\nnot the body\r\n" +
				"--OUT--\r\n",
			subject: "Bilag", text: "Kære", html: "<b>Kære</b>", from: "a@example.dk",
		},
		{
			name:    "not a message at all",
			raw:     "garbage without headers",
			subject: "(unparseable message)", text: "garbage without headers",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := parse([]byte(c.raw))
			for _, f := range []struct{ what, got, want string }{
				{"subject", m.Subject, c.subject}, {"text", m.Text, c.text}, {"html", m.HTML, c.html}, {"from", m.From, c.from},
			} {
				if f.got != f.want {
					t.Errorf("%s: got %q, want %q", f.what, f.got, f.want)
				}
			}
		})
	}
}

func TestKeepsTheNewestMessages(t *testing.T) {
	t.Parallel()
	s := New(nil)
	for i := range MaxMessages + 3 {
		s.add("a@example.dk", []string{"b@example.dk"}, "", fmt.Appendf(nil, "Subject: %d\r\n\r\nx", i))
	}
	msgs := s.Messages()
	if len(msgs) != MaxMessages {
		t.Fatalf("kept %d messages, want %d", len(msgs), MaxMessages)
	}
	if got, want := msgs[0].Subject, fmt.Sprint(MaxMessages+2); got != want {
		t.Errorf("newest: got subject %q, want %q", got, want)
	}
	if got, want := msgs[len(msgs)-1].Subject, "3"; got != want {
		t.Errorf("oldest kept: got subject %q, want %q", got, want)
	}
	if _, ok := s.Message(1); ok {
		t.Errorf("message 1: still kept, want dropped")
	}
}

func TestWaitGivesUpWithItsContext(t *testing.T) {
	t.Parallel()
	s := New(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Wait(ctx, func(Message) bool { return true }); err == nil {
		t.Fatal("Wait on an empty inbox: got nil error, want the context's")
	}
}

func TestHTTP(t *testing.T) {
	t.Parallel()
	s, addr := start(t)
	web := httptest.NewServer(s.HTTPHandler())
	defer web.Close()

	evil := `<script>alert("x")</script><p onclick="steal()">hi</p>"'`
	raw := "From: a@example.dk\r\nTo: b@example.dk\r\nSubject: <b>Hello</b>\r\nContent-Type: multipart/alternative; boundary=B\r\n\r\n" +
		"--B\r\nContent-Type: text/plain\r\n\r\n<i>text</i>\r\n--B\r\nContent-Type: text/html\r\n\r\n" + evil + "\r\n--B--\r\n"
	if err := smtp.SendMail(addr, nil, "a@example.dk", []string{"b@example.dk", "c@example.dk"}, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	m := waitFor(t, s, func(m Message) bool { return true })

	get := func(path string) (*http.Response, string) {
		t.Helper()
		res, err := http.Get(web.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}

	t.Run("api list", func(t *testing.T) {
		res, body := get("/api/messages")
		var got []map[string]any
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatalf("decode %q: %v", body, err)
		}
		if res.StatusCode != 200 || len(got) != 1 {
			t.Fatalf("GET /api/messages: got %d with %d messages, want 200 with 1", res.StatusCode, len(got))
		}
		for _, k := range []string{"id", "from", "to", "subject", "text", "html", "received_at"} {
			if _, ok := got[0][k]; !ok {
				t.Errorf("message JSON has no %q: %v", k, got[0])
			}
		}
		if to := got[0]["to"].([]any); len(to) != 2 {
			t.Errorf("to: got %v, want both envelope recipients", to)
		}
	})
	t.Run("api one and missing", func(t *testing.T) {
		res, body := get(fmt.Sprintf("/api/messages/%d", m.ID))
		if res.StatusCode != 200 || !strings.Contains(body, `"subject":"\u003cb\u003eHello\u003c/b\u003e"`) {
			t.Errorf("GET one: got %d %s", res.StatusCode, body)
		}
		if res, _ := get("/api/messages/999"); res.StatusCode != 404 {
			t.Errorf("GET missing: got %d, want 404", res.StatusCode)
		}
	})
	t.Run("inbox page escapes", func(t *testing.T) {
		res, body := get("/")
		if res.StatusCode != 200 || !strings.Contains(body, "&lt;b&gt;Hello&lt;/b&gt;") || strings.Contains(body, "<b>Hello</b>") {
			t.Errorf("GET /: got %d, want the subject escaped:\n%s", res.StatusCode, body)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("CSP: got %q, want default-src 'none'", csp)
		}
	})
	t.Run("message page sandboxes the HTML", func(t *testing.T) {
		res, body := get(fmt.Sprintf("/messages/%d", m.ID))
		if res.StatusCode != 200 {
			t.Fatalf("GET message: got %d", res.StatusCode)
		}
		if strings.Contains(body, "<script>") || strings.Contains(body, `onclick="steal()"`) {
			t.Errorf("the mail's HTML reached the page unescaped:\n%s", body)
		}
		if !strings.Contains(body, `sandbox srcdoc="&lt;script&gt;`) {
			t.Errorf("want the HTML in a sandboxed srcdoc iframe:\n%s", body)
		}
		if !strings.Contains(body, "&lt;i&gt;text&lt;/i&gt;") {
			t.Errorf("want the text part escaped:\n%s", body)
		}
	})
	t.Run("cross-origin clear is refused", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, web.URL+"/clear", nil)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden || len(s.Messages()) != 1 {
			t.Errorf("cross-site POST /clear: got %d and %d messages left, want 403 and 1", res.StatusCode, len(s.Messages()))
		}
	})
	t.Run("api delete", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodDelete, web.URL+"/api/messages", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNoContent || len(s.Messages()) != 0 {
			t.Errorf("DELETE: got %d and %d messages, want 204 and 0", res.StatusCode, len(s.Messages()))
		}
	})
}
