package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// tokenResponse is the token endpoint's answer (RFC 6749, 5.1).
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

// tokenForm is the client credentials grant; the client authenticates with
// HTTP Basic (client_secret_basic).
const tokenForm = "grant_type=client_credentials"

// tokenSource holds the access token API requests carry, refreshed well
// before it expires. The headers are built once per token and shared by
// every request (vegeta copies them into each).
type tokenSource struct {
	url    string
	basic  string
	client *http.Client
	header atomic.Pointer[http.Header]
	stderr io.Writer
}

func newTokenSource(baseURL string, c credentials, stderr io.Writer) *tokenSource {
	return &tokenSource{
		url:    strings.TrimRight(baseURL, "/") + "/oauth2/token",
		basic:  basicAuth(c.ClientID, c.ClientSecret),
		client: &http.Client{Timeout: 10 * time.Second},
		stderr: stderr,
	}
}

// basicAuth is the Authorization header of client_secret_basic: the id and
// secret form-encoded, then base64 (RFC 6749, 2.3.1).
func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// fetch asks the token endpoint for a token.
func (ts *tokenSource) fetch(ctx context.Context) (tokenResponse, error) {
	var tr tokenResponse
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.url, strings.NewReader(tokenForm))
	if err != nil {
		return tr, err
	}
	req.Header.Set("Authorization", ts.basic)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := ts.client.Do(req)
	if err != nil {
		return tr, fmt.Errorf("token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return tr, fmt.Errorf("token: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return tr, fmt.Errorf("token: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return tr, fmt.Errorf("token: %w", err)
	}
	if tr.AccessToken == "" || !strings.EqualFold(tr.TokenType, "bearer") || tr.ExpiresIn <= 0 {
		return tr, fmt.Errorf("token: unexpected answer %s", body)
	}
	return tr, nil
}

// start fetches the first token, then keeps it fresh until ctx ends: a new
// one when three quarters of the old one's lifetime have passed.
func (ts *tokenSource) start(ctx context.Context) error {
	tr, err := ts.fetch(ctx)
	if err != nil {
		return err
	}
	ts.set(tr.AccessToken)
	go func() {
		wait := lifetime(tr.ExpiresIn)
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			next, err := ts.fetch(ctx)
			if err != nil {
				if ctx.Err() == nil {
					fmt.Fprintf(ts.stderr, "erhverv-load: refreshing the token: %v (retrying in 1s)\n", err)
				}
				wait = time.Second
				continue
			}
			ts.set(next.AccessToken)
			wait = lifetime(next.ExpiresIn)
		}
	}()
	return nil
}

func lifetime(expiresIn int) time.Duration {
	return max(time.Duration(expiresIn)*time.Second*3/4, time.Second)
}

func (ts *tokenSource) set(token string) {
	h := http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}}
	ts.header.Store(&h)
}
