package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/erhverv/erhverv/internal/seed"
)

// target is what a run attacks: the requests, and how to judge an answer.
type target struct {
	name string
	// about describes the requests for the report.
	about string
	// attack makes the measured requests, warm the warm-up's; warmN is how
	// many warm-up requests ask about every sampled user once.
	attack, warm vegeta.Targeter
	warmN        int
	// perRequest is the questions a request asks (tokens: 1).
	perRequest int
	// check judges one result: a verdict without a problem when it is the
	// answer expected, else with a short reason such as "status 429" or
	// "wrong answer".
	check func(r *vegeta.Result) verdict
}

// verdict is check's judgement of one result.
type verdict struct {
	problem       string
	allow, denied int // decisions in the answer
}

const (
	decisionsPath = "/api/v1/decisions"
	batchPath     = "/api/v1/decisions/batch"
)

// cycle returns a targeter that hands out n requests in turn, forever.
func cycle(n int, fill func(i int, t *vegeta.Target)) vegeta.Targeter {
	var next atomic.Uint64
	return func(t *vegeta.Target) error {
		fill(int((next.Add(1)-1)%uint64(n)), t)
		return nil
	}
}

func tokensTarget(base string, c credentials) *target {
	url := strings.TrimRight(base, "/") + "/oauth2/token"
	header := http.Header{"Authorization": {basicAuth(c.ClientID, c.ClientSecret)},
		"Content-Type": {"application/x-www-form-urlencoded"}}
	body := []byte(tokenForm)
	tr := cycle(1, func(_ int, t *vegeta.Target) {
		t.Method, t.URL, t.Body, t.Header = http.MethodPost, url, body, header
	})
	return &target{
		name:       "tokens",
		perRequest: 1,
		about:      "POST /oauth2/token, client credentials with HTTP Basic",
		attack:     tr, warm: tr,
		check: func(r *vegeta.Result) verdict {
			if r.Code != http.StatusOK {
				return verdict{problem: statusProblem(r)}
			}
			// A byte search first, as for decisions (readAllow).
			if bytes.Contains(r.Body, []byte(`"access_token":"ey`)) && bytes.Contains(r.Body, []byte(`"token_type":"Bearer"`)) {
				return verdict{}
			}
			var tr tokenResponse
			if json.Unmarshal(r.Body, &tr) != nil || tr.AccessToken == "" || !strings.EqualFold(tr.TokenType, "bearer") {
				return verdict{problem: "malformed token response"}
			}
			return verdict{}
		},
	}
}

func decisionsTarget(base string, m *mix, ts *tokenSource) *target {
	url := strings.TrimRight(base, "/") + decisionsPath
	urls := make([]string, len(m.questions))
	for i := range urls {
		urls[i] = fragment(url, i)
	}
	fill := func(qs []question, urls func(i int) string) func(i int, t *vegeta.Target) {
		return func(i int, t *vegeta.Target) {
			t.Method, t.URL, t.Body, t.Header = http.MethodPost, urls(i), qs[i].body, *ts.header.Load()
		}
	}
	return &target{
		name:       "decisions",
		perRequest: 1,
		about: fmt.Sprintf("POST %s, one question each: %d users asked about, %.0f%% of the questions expected to allow",
			decisionsPath, m.sampled, 100*float64(m.allows)/float64(len(m.questions))),
		attack: cycle(len(m.questions), fill(m.questions, func(i int) string { return urls[i] })),
		// Warm-up answers are judged but not kept: the index is unused.
		warm:  cycle(len(m.warm), fill(m.warm, func(int) string { return url })),
		warmN: len(m.warm),
		check: func(r *vegeta.Result) verdict {
			if r.Code != http.StatusOK {
				return verdict{problem: statusProblem(r)}
			}
			allow, ok := readAllow(r.Body)
			if !ok {
				return verdict{problem: "malformed decision"}
			}
			v := verdict{allow: b2i(allow), denied: b2i(!allow)}
			if i := fragmentIndex(r.URL); i >= 0 && i < len(m.questions) && m.questions[i].allow != allow {
				v.problem = "wrong answer"
			}
			return v
		},
	}
}

// batchTarget asks size questions a request.
func batchTarget(base string, m *mix, ts *tokenSource, size int) *target {
	url := strings.TrimRight(base, "/") + batchPath
	type batch struct {
		Questions []decisionRequest `json:"questions"`
	}
	n := len(m.questions) / size
	bodies, urls := make([][]byte, n), make([]string, n)
	for b := range n {
		var req batch
		for _, q := range m.questions[b*size : (b+1)*size] {
			req.Questions = append(req.Questions, q.req)
		}
		bodies[b], _ = json.Marshal(req)
		urls[b] = fragment(url, b)
	}
	var warm [][]byte
	for b := 0; b < len(m.warm); b += size {
		var req batch
		for _, q := range m.warm[b:min(b+size, len(m.warm))] {
			req.Questions = append(req.Questions, q.req)
		}
		body, _ := json.Marshal(req)
		warm = append(warm, body)
	}
	return &target{
		name:       "batch",
		perRequest: size,
		about: fmt.Sprintf("POST %s, %d questions each: %d users asked about, %.0f%% of the questions expected to allow",
			batchPath, size, m.sampled, 100*float64(m.allows)/float64(len(m.questions))),
		attack: cycle(n, func(i int, t *vegeta.Target) {
			t.Method, t.URL, t.Body, t.Header = http.MethodPost, urls[i], bodies[i], *ts.header.Load()
		}),
		warm: cycle(len(warm), func(i int, t *vegeta.Target) {
			t.Method, t.URL, t.Body, t.Header = http.MethodPost, url, warm[i], *ts.header.Load()
		}),
		warmN: len(warm),
		check: func(r *vegeta.Result) verdict {
			if r.Code != http.StatusOK {
				return verdict{problem: statusProblem(r)}
			}
			var resp struct {
				Decisions []struct {
					Allow *bool `json:"allow"`
				} `json:"decisions"`
			}
			if json.Unmarshal(r.Body, &resp) != nil {
				return verdict{problem: "malformed batch answer"}
			}
			var v verdict
			b := fragmentIndex(r.URL)
			if b >= 0 && len(resp.Decisions) != size {
				return verdict{problem: fmt.Sprintf("%d decisions for %d questions", len(resp.Decisions), size)}
			}
			for i, d := range resp.Decisions {
				if d.Allow == nil {
					return verdict{problem: "malformed batch answer"}
				}
				v.allow += b2i(*d.Allow)
				v.denied += b2i(!*d.Allow)
				if b >= 0 && b < n && m.questions[b*size+i].allow != *d.Allow {
					v.problem = "wrong answer"
				}
			}
			return v
		},
	}
}

// readAllow reads a decision's allow, and checks that it gives reasons. The
// server writes compact JSON, which a byte search reads for a tenth of what
// decoding costs (the generator shares the server's cores); anything else
// is decoded.
func readAllow(body []byte) (allow, ok bool) {
	if bytes.Contains(body, []byte(`"reasons":[{`)) {
		switch {
		case bytes.HasPrefix(body, []byte(`{"allow":true,`)):
			return true, true
		case bytes.HasPrefix(body, []byte(`{"allow":false,`)):
			return false, true
		}
	}
	var d struct {
		Allow   *bool             `json:"allow"`
		Reasons []json.RawMessage `json:"reasons"`
	}
	if json.Unmarshal(body, &d) != nil || d.Allow == nil || len(d.Reasons) == 0 {
		return false, false
	}
	return *d.Allow, true
}

func statusProblem(r *vegeta.Result) string {
	if r.Code == 0 {
		// The request never got an answer: a timeout, a refused
		// connection. The error names the URL, which names the question:
		// leave it out, so that one kind of error counts as one.
		msg := r.Error
		if u := strings.Index(msg, `"`+r.URL+`": `); u >= 0 {
			msg = msg[:u] + msg[u+len(r.URL)+4:]
		}
		return msg
	}
	return fmt.Sprintf("status %d", r.Code)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// planOf returns the plan the credentials' data set was seeded with.
func planOf(c credentials) (seed.LoadPlan, error) {
	return seed.NewLoadPlan(seed.LoadOptions{Users: c.Users, Assignments: c.Assignments, Groups: c.Groups})
}
