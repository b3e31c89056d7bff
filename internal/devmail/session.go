package devmail

import (
	"bytes"
	"errors"
	"io"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// session is one SMTP connection. It accepts any sender, any recipient and
// any credentials.
type session struct {
	srv      *Server
	from     string
	to       []string
	authUser string
}

var _ smtp.AuthSession = (*session)(nil)

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain, sasl.Login} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, username, _ string) error {
			s.authUser = username
			return nil
		}), nil
	case sasl.Login:
		return &loginServer{done: func(username string) { s.authUser = username }}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return err
	}
	s.srv.add(s.from, s.to, s.authUser, buf.Bytes())
	return nil
}

func (s *session) Reset() {
	s.from = ""
	s.to = nil
}

func (s *session) Logout() error { return nil }

// loginServer is the server side of the LOGIN mechanism (user name and
// password, each after a prompt), which go-sasl only has a client for.
type loginServer struct {
	step     int
	username string
	done     func(username string)
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		l.step++
		if response != nil { // the user name came with AUTH LOGIN
			l.username = string(response)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.username = string(response)
		l.step++
		return []byte("Password:"), false, nil
	case 2:
		l.step++
		l.done(l.username)
		return nil, true, nil
	}
	return nil, false, errors.New("unexpected LOGIN response")
}
