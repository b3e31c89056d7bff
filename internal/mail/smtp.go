package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"
)

// TLS modes of SMTPConfig.TLS.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS, which is required
	TLSImplicit = "tls"      // TLS from the first byte (usually port 465)
	TLSNone     = "none"     // no encryption: development only
)

// DefaultTimeout bounds connecting and each SMTP command.
const DefaultTimeout = 30 * time.Second

// ErrRejected marks a send the server refused for good (a 5xx reply to
// RCPT TO): retrying the same message cannot help.
var ErrRejected = errors.New("recipient rejected by the mail server")

// SMTPConfig says how to reach the mail server.
type SMTPConfig struct {
	Addr     string // host:port
	Username string // empty: no authentication
	Password string
	From     string // the sender, "Name <address>" or a bare address
	TLS      string // TLSStartTLS, TLSImplicit or TLSNone
}

// SMTPSender sends messages through an SMTP server, one connection per
// message. It authenticates with PLAIN or LOGIN (whichever the server
// offers, PLAIN first) when a user name is set, and only over an encrypted
// connection or to localhost. It is safe for concurrent use.
type SMTPSender struct {
	cfg       SMTPConfig
	host      string
	port      int
	timeout   time.Duration
	tlsConfig *tls.Config
}

var _ Sender = (*SMTPSender)(nil)

// NewSMTPSender checks cfg and returns a sender. It does not connect.
func NewSMTPSender(cfg SMTPConfig) (*SMTPSender, error) {
	host, portStr, err := net.SplitHostPort(cfg.Addr)
	if err != nil || host == "" {
		return nil, fmt.Errorf("smtp address %q: want host:port", cfg.Addr)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return nil, fmt.Errorf("smtp address %q: bad port", cfg.Addr)
	}
	switch cfg.TLS {
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return nil, fmt.Errorf("smtp tls mode %q: want %s, %s or %s", cfg.TLS, TLSStartTLS, TLSImplicit, TLSNone)
	}
	if _, err := netmail.ParseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("smtp sender %q: %w", cfg.From, err)
	}
	if cfg.Password != "" && cfg.Username == "" {
		return nil, errors.New("smtp password given without a user name")
	}
	return &SMTPSender{
		cfg:       cfg,
		host:      host,
		port:      port,
		timeout:   DefaultTimeout,
		tlsConfig: &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12},
	}, nil
}

// Send delivers m. The error names the failing step and the server's reply,
// with the recipient's address replaced by [recipient]; it wraps
// ErrRejected when the server refused the recipient permanently.
func (s *SMTPSender) Send(ctx context.Context, m Message) error {
	msg, err := s.build(m)
	if err != nil {
		return err
	}
	// go-mail leaves the connection open when STARTTLS or authentication
	// fails; closing it here, whatever happened, keeps a server that
	// refuses us from holding sockets until it times out.
	var conn net.Conn
	defer func() {
		if conn != nil {
			_ = conn.Close()
		}
	}()
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var err error
		if s.cfg.TLS == TLSImplicit {
			d := tls.Dialer{Config: s.tlsConfig}
			conn, err = d.DialContext(ctx, network, addr)
		} else {
			var d net.Dialer
			conn, err = d.DialContext(ctx, network, addr)
		}
		return conn, err
	}
	client, err := gomail.NewClient(s.host, append(s.options(), gomail.WithDialContextFunc(dial))...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return s.sendError(err, m.To)
	}
	return nil
}

func (s *SMTPSender) options() []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(s.port),
		gomail.WithTimeout(s.timeout),
		gomail.WithTLSConfig(s.tlsConfig), // for STARTTLS; implicit TLS dials with it above
	}
	switch s.cfg.TLS {
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuthCustom(&plainOrLogin{user: s.cfg.Username, pass: s.cfg.Password, host: s.host}))
	}
	return opts
}

func (s *SMTPSender) build(m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg() // UTF-8, quoted-printable
	if err := msg.From(s.cfg.From); err != nil {
		return nil, fmt.Errorf("sender address: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, errors.New("recipient address is not valid")
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetUserAgent("erhverv")
	// RFC 3834: tells auto-responders (out-of-office) not to answer.
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// sendError rewrites go-mail's error, which lists the recipients, so that
// it can be logged and stored with the job.
func (s *SMTPSender) sendError(err error, to string) error {
	text := err.Error()
	if to != "" {
		text = strings.ReplaceAll(text, to, "[recipient]")
	}
	e := &SendError{msg: fmt.Sprintf("smtp %s: %s", s.cfg.Addr, text), err: err}
	var se *gomail.SendError
	if errors.As(err, &se) {
		e.rejected = se.Reason == gomail.ErrSMTPRcptTo && !se.IsTemp()
	}
	return e
}

// SendError is a failed delivery. Its message is safe to log.
type SendError struct {
	msg      string
	err      error
	rejected bool
}

func (e *SendError) Error() string { return e.msg }

// Unwrap gives errors.Is and errors.As the underlying go-mail error and, for
// a permanent refusal, ErrRejected.
func (e *SendError) Unwrap() []error {
	if e.rejected {
		return []error{ErrRejected, e.err}
	}
	return []error{e.err}
}

// plainOrLogin authenticates with PLAIN when the server offers it, else
// with LOGIN, and refuses anything else: these are the mechanisms every
// mail service supports, and over TLS they are as safe as any. The
// credentials are only sent over TLS or to localhost (go-mail checks).
type plainOrLogin struct {
	user, pass, host string
	chosen           gosmtp.Auth
}

func (a *plainOrLogin) Start(si *gosmtp.ServerInfo) (string, []byte, error) {
	switch {
	case slices.Contains(si.Auth, "PLAIN"):
		a.chosen = gosmtp.PlainAuth("", a.user, a.pass, a.host, false)
	case slices.Contains(si.Auth, "LOGIN"):
		a.chosen = gosmtp.LoginAuth(a.user, a.pass, a.host, false)
	default:
		return "", nil, fmt.Errorf("the server offers neither PLAIN nor LOGIN authentication (it offers %v)", si.Auth)
	}
	return a.chosen.Start(si)
}

func (a *plainOrLogin) Next(fromServer []byte, more bool) ([]byte, error) {
	return a.chosen.Next(fromServer, more)
}
