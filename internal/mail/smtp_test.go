package mail

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	gosmtp "github.com/wneessen/go-mail/smtp"

	"github.com/erhverv/erhverv/internal/devmail"
)

func testMessage() Message {
	return Message{To: "anna@example.dk", Subject: "Hej Anna", Text: "The secret body https://example.dk/activate/xyz", HTML: "<p>The secret body</p>"}
}

func TestSMTPSenderDeliversToDevmail(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, username, password, wantAuth string
	}{
		{"no authentication", "", "", ""},
		{"PLAIN to localhost without TLS", "dev", "pw", "dev"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			catcher, addr := startDevmail(t)
			s, err := NewSMTPSender(SMTPConfig{Addr: addr, From: "erhverv <noreply@example.dk>", TLS: TLSNone, Username: c.username, Password: c.password})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Send(context.Background(), testMessage()); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got, err := catcher.Wait(ctxTimeout(t), func(devmail.Message) bool { return true })
			if err != nil {
				t.Fatal(err)
			}
			if got.Subject != "Hej Anna" || strings.Join(got.To, ",") != "anna@example.dk" || got.AuthUser != c.wantAuth {
				t.Errorf("got subject %q to %v user %q, want %q to anna@example.dk user %q", got.Subject, got.To, got.AuthUser, "Hej Anna", c.wantAuth)
			}
		})
	}
}

func TestSMTPSenderRequiresSTARTTLS(t *testing.T) {
	t.Parallel()
	catcher, addr := startDevmail(t) // offers no STARTTLS
	s, err := NewSMTPSender(SMTPConfig{Addr: addr, From: "noreply@example.dk", TLS: TLSStartTLS})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), testMessage())
	if err == nil {
		t.Fatal("Send without STARTTLS: got nil error, want a refusal")
	}
	assertSafe(t, err)
	if n := len(catcher.Messages()); n != 0 {
		t.Errorf("the server got %d messages over a plain connection, want 0", n)
	}
	// Shutdown waits for open connections: ours must be closed already.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := catcher.Shutdown(ctx); err != nil {
		t.Errorf("the refused connection was left open: Shutdown: %v", err)
	}
}

func TestSMTPSenderOverTLS(t *testing.T) {
	t.Parallel()
	cert, pool := selfSigned(t)
	for _, mode := range []string{TLSStartTLS, TLSImplicit} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			srv := &recorder{}
			addr := srv.start(t, &tls.Config{Certificates: []tls.Certificate{cert}}, mode == TLSImplicit)
			s, err := NewSMTPSender(SMTPConfig{Addr: addr, From: "noreply@example.dk", TLS: mode, Username: "user", Password: "pw"})
			if err != nil {
				t.Fatal(err)
			}
			s.tlsConfig = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
			if err := s.Send(context.Background(), testMessage()); err != nil {
				t.Fatalf("Send: %v", err)
			}
			if !srv.tls || srv.user != "user" || !bytes.Contains(srv.data, []byte("Subject: Hej Anna")) {
				t.Errorf("got tls=%v user=%q data=%q, want an authenticated TLS delivery", srv.tls, srv.user, srv.data)
			}
		})
	}
	for _, mode := range []string{TLSStartTLS, TLSImplicit} {
		t.Run(mode+" with an untrusted certificate", func(t *testing.T) {
			t.Parallel()
			srv := &recorder{}
			addr := srv.start(t, &tls.Config{Certificates: []tls.Certificate{cert}}, mode == TLSImplicit)
			s, err := NewSMTPSender(SMTPConfig{Addr: addr, From: "noreply@example.dk", TLS: mode})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Send(context.Background(), testMessage()); err == nil {
				t.Errorf("Send to a server with a self-signed certificate: got nil error, want a refusal")
			}
		})
	}
}

func TestSMTPSenderRejectedRecipient(t *testing.T) {
	t.Parallel()
	srv := &recorder{rcptErr: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<anna@example.dk>: no such user"}}
	addr := srv.start(t, nil, false)
	s, err := NewSMTPSender(SMTPConfig{Addr: addr, From: "noreply@example.dk", TLS: TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), testMessage())
	if !errors.Is(err, ErrRejected) {
		t.Fatalf("Send: got %v, want ErrRejected", err)
	}
	assertSafe(t, err)

	srv.mu.Lock()
	srv.rcptErr = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	srv.mu.Unlock()
	if err := s.Send(context.Background(), testMessage()); err == nil || errors.Is(err, ErrRejected) {
		t.Errorf("Send on a temporary failure: got %v, want an error that is not ErrRejected", err)
	}
}

func TestPlainOrLoginChoosesWhatTheServerOffers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		offered []string
		want    string
	}{
		{[]string{"CRAM-MD5", "LOGIN", "PLAIN"}, "PLAIN"},
		{[]string{"LOGIN"}, "LOGIN"},
		{[]string{"CRAM-MD5", "XOAUTH2"}, ""},
		{nil, ""},
	}
	for _, c := range cases {
		a := &plainOrLogin{user: "u", pass: "p", host: "smtp.example.dk"}
		proto, _, err := a.Start(&gosmtp.ServerInfo{Name: "smtp.example.dk", TLS: true, Auth: c.offered})
		if proto != c.want || (c.want == "") != (err != nil) {
			t.Errorf("offered %v: got %q, %v; want %q", c.offered, proto, err, c.want)
		}
	}
	// Never the password in clear to a remote host.
	a := &plainOrLogin{user: "u", pass: "p", host: "smtp.example.dk"}
	if _, _, err := a.Start(&gosmtp.ServerInfo{Name: "smtp.example.dk", TLS: false, Auth: []string{"PLAIN"}}); err == nil {
		t.Errorf("PLAIN without TLS to a remote host: got nil error, want a refusal")
	}
}

func TestNewSMTPSenderChecksConfig(t *testing.T) {
	t.Parallel()
	good := SMTPConfig{Addr: "smtp.example.dk:587", From: "erhverv <noreply@example.dk>", TLS: TLSStartTLS}
	if _, err := NewSMTPSender(good); err != nil {
		t.Fatalf("good config: %v", err)
	}
	cases := map[string]func(*SMTPConfig){
		"no port":           func(c *SMTPConfig) { c.Addr = "smtp.example.dk" },
		"bad port":          func(c *SMTPConfig) { c.Addr = "smtp.example.dk:99999" },
		"unknown tls":       func(c *SMTPConfig) { c.TLS = "ssl" },
		"bad sender":        func(c *SMTPConfig) { c.From = "noreply" },
		"password, no user": func(c *SMTPConfig) { c.Password = "pw" },
	}
	for name, change := range cases {
		c := good
		change(&c)
		if _, err := NewSMTPSender(c); err == nil {
			t.Errorf("%s: got nil error, want a refusal", name)
		}
	}
}

// assertSafe fails when err shows the message body or the recipient.
func assertSafe(t *testing.T, err error) {
	t.Helper()
	for _, s := range []string{"secret body", "activate/xyz", "anna@example.dk"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q contains %q", err, s)
		}
	}
}

func startDevmail(t *testing.T) (*devmail.Server, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := devmail.New(nil)
	go func() { _ = s.ServeSMTP(l) }()
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s, l.Addr().String()
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// recorder is a bare SMTP server for what devmail does not do: TLS and
// refusing recipients.
type recorder struct {
	rcptErr error

	mu   sync.Mutex
	tls  bool
	user string
	data []byte
}

func (r *recorder) start(t *testing.T, cfg *tls.Config, implicit bool) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &recorderSession{r: r, c: c}, nil
	}))
	srv.Domain = "localhost"
	srv.TLSConfig = cfg
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	if implicit {
		l = tls.NewListener(l, cfg)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

type recorderSession struct {
	r *recorder
	c *smtp.Conn
}

func (s *recorderSession) AuthMechanisms() []string { return []string{"PLAIN"} }
func (s *recorderSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, _ string) error {
		s.r.mu.Lock()
		defer s.r.mu.Unlock()
		s.r.user = user
		return nil
	}), nil
}
func (s *recorderSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *recorderSession) Rcpt(string, *smtp.RcptOptions) error {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	return s.r.rcptErr
}
func (s *recorderSession) Data(rd io.Reader) error {
	b, err := io.ReadAll(rd)
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	_, s.r.tls = s.c.TLSConnectionState()
	s.r.data = b
	return err
}
func (s *recorderSession) Reset()        {}
func (s *recorderSession) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(parsed)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: parsed}, pool
}
