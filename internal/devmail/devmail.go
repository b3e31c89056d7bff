// Package devmail is a mail catcher for development and tests: a real SMTP
// server that accepts every message, keeps the newest ones in memory and
// shows them in a small web inbox and a JSON API. Nothing is relayed
// anywhere. Point erhverv's ERHVERV_SMTP_* settings at it (TLS "none") to
// read the mails the platform sends; tests start one in-process and Wait
// for the message they expect.
package devmail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// MaxMessages is how many messages the catcher keeps; older ones are
// dropped first.
const MaxMessages = 500

// Message is one received email, parsed.
type Message struct {
	ID         int64               `json:"id"`
	From       string              `json:"from"`                // the From header, decoded (the envelope sender when absent)
	To         []string            `json:"to"`                  // the envelope recipients (RCPT TO), Bcc included
	Subject    string              `json:"subject"`             // decoded
	Text       string              `json:"text"`                // the first text/plain part, decoded
	HTML       string              `json:"html"`                // the first text/html part, decoded
	Headers    map[string][]string `json:"headers"`             // top-level headers, decoded
	AuthUser   string              `json:"auth_user,omitempty"` // the SMTP user name, when the client authenticated
	ReceivedAt time.Time           `json:"received_at"`
	Raw        []byte              `json:"-"` // the message as received
}

// Server holds the received messages and serves them over SMTP and HTTP.
// It is safe for concurrent use.
type Server struct {
	logger *slog.Logger
	smtp   *smtp.Server

	mu      sync.Mutex
	msgs    []Message // oldest first
	lastID  int64
	arrived chan struct{} // closed, and replaced, when a message arrives
}

// New returns a server with an empty inbox. logger may be nil.
func New(logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{logger: logger, arrived: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: s}, nil
	}))
	srv.Domain = "devmail.localhost"
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 100
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.AllowInsecureAuth = true // any user name and password will do, in clear
	srv.ErrorLog = errorLog{logger}
	s.smtp = srv
	return s
}

// ServeSMTP accepts SMTP connections on l until Shutdown. It always returns
// an error; after Shutdown, smtp.ErrServerClosed.
func (s *Server) ServeSMTP(l net.Listener) error {
	return s.smtp.Serve(l)
}

// Shutdown stops accepting SMTP connections and waits for open ones to end
// or for ctx to be done.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.smtp.Shutdown(ctx)
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Messages returns the kept messages, newest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.msgs)
	slices.Reverse(out)
	return out
}

// Message returns the message with that id, if it is still kept.
func (s *Server) Message(id int64) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.msgs, func(m Message) bool { return m.ID == id })
	if i < 0 {
		return Message{}, false
	}
	return s.msgs[i], true
}

// Clear forgets every message.
func (s *Server) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = nil
}

// Wait returns the oldest kept message for which match is true, waiting
// for one to arrive until ctx is done.
func (s *Server) Wait(ctx context.Context, match func(Message) bool) (Message, error) {
	for {
		s.mu.Lock()
		for _, m := range s.msgs {
			if match(m) {
				s.mu.Unlock()
				return m, nil
			}
		}
		arrived := s.arrived
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return Message{}, fmt.Errorf("wait for mail: %w", context.Cause(ctx))
		case <-arrived:
		}
	}
}

// add parses raw and keeps it.
func (s *Server) add(from string, to []string, authUser string, raw []byte) Message {
	m := parse(raw)
	if m.From == "" {
		m.From = from
	}
	m.To = to
	m.AuthUser = authUser
	m.ReceivedAt = time.Now().UTC()
	m.Raw = raw
	s.mu.Lock()
	s.lastID++
	m.ID = s.lastID
	s.msgs = append(s.msgs, m)
	if over := len(s.msgs) - MaxMessages; over > 0 {
		s.msgs = slices.Delete(s.msgs, 0, over)
	}
	close(s.arrived)
	s.arrived = make(chan struct{})
	s.mu.Unlock()
	s.logger.Info("mail caught", "id", m.ID, "to", to, "subject", m.Subject, "bytes", len(raw))
	return m
}

type errorLog struct{ logger *slog.Logger }

func (l errorLog) Printf(format string, v ...any) {
	l.logger.Warn("smtp: " + fmt.Sprintf(format, v...))
}
func (l errorLog) Println(v ...any) { l.logger.Warn("smtp: " + fmt.Sprint(v...)) }
