package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/smtp"
	"strings"
	"testing"
	"time"
)

func TestRunCatchesMailAndStops(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env := map[string]string{"DEVMAIL_SMTP_ADDR": "127.0.0.1:0", "DEVMAIL_HTTP_ADDR": "127.0.0.1:0"}
	addrs := make(chan [2]net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, func(k string) string { return env[k] }, slog.New(slog.DiscardHandler), func(s, h net.Addr) { addrs <- [2]net.Addr{s, h} })
	}()
	var a [2]net.Addr
	select {
	case a = <-addrs:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	smtpAddr, inbox := a[0].String(), "http://"+a[1].String()

	body := "From: a@example.dk\r\nTo: b@example.dk\r\nSubject: Hej\r\n\r\nTekst\r\n"
	if err := smtp.SendMail(smtpAddr, nil, "a@example.dk", []string{"b@example.dk"}, []byte(body)); err != nil {
		t.Fatalf("send: %v", err)
	}
	for _, c := range []struct{ path, want string }{
		{"/healthz", "ok"},
		{"/api/messages", `"subject":"Hej"`},
		{"/", "Hej"},
	} {
		res, err := http.Get(inbox + c.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(b), c.want) {
			t.Errorf("GET %s: got %d %q, want 200 containing %q", c.path, res.StatusCode, b, c.want)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after cancel: got %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context was cancelled")
	}
}
