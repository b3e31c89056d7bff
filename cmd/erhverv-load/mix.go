package main

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/seed"
)

// decisionRequest is the body of POST /api/v1/decisions.
type decisionRequest struct {
	UserID      string            `json:"user_id"`
	Privilege   string            `json:"privilege"`
	Level       string            `json:"level"`
	Scope       *scopeJSON        `json:"scope,omitempty"`
	Constraints map[string]string `json:"constraints,omitempty"`
}

type scopeJSON struct {
	Type  string `json:"type"` // cvr, pnumber or senumber
	Value string `json:"value"`
}

// scopePNumber is the API's scope type of a P-number.
const scopePNumber = "pnumber"

// question is one decision request with the answer the plan implies.
type question struct {
	req   decisionRequest
	body  []byte
	allow bool
}

// mix is the questions a run asks, in the order it asks them (cycling), made
// in advance so that the generator spends its time sending, not encoding.
type mix struct {
	questions []question
	// warm is one question about each sampled user, to fill the server's
	// rights cache before measuring.
	warm    []question
	sampled int
	allows  int
}

// The shape of the mix: most questions are about privileges the user was
// given (as a service provider asks at a login, where most users hold what
// they log in for), some about privileges the user's groups hold, the rest
// about any privilege, held or not; a quarter at the user's own P-number.
const (
	mixDirectPct = 60
	mixGroupPct  = 20
	mixAtUnitPct = 25
)

// newMix makes n questions about sample users spread evenly over the plan's,
// from a fixed random seed: the same flags give the same questions.
func newMix(plan seed.LoadPlan, sample, n int) *mix {
	sample = min(max(sample, 1), plan.Users)
	users := make([]int, sample)
	for s := range users {
		users[s] = int(int64(s) * int64(plan.Users) / int64(sample))
	}
	rng := rand.New(rand.NewPCG(6, 2026))
	m := &mix{sampled: sample}
	for range n {
		q := newQuestion(plan, users[rng.IntN(sample)], rng)
		if q.allow {
			m.allows++
		}
		m.questions = append(m.questions, q)
	}
	for _, i := range users {
		m.warm = append(m.warm, newQuestion(plan, i, rng))
	}
	return m
}

func newQuestion(plan seed.LoadPlan, i int, rng *rand.Rand) question {
	var k int
	switch r := rng.IntN(100); {
	case r < mixDirectPct && plan.DirectCount(i) > 0:
		k = plan.DirectPrivilege(i, rng.IntN(plan.DirectCount(i)))
	case r < mixDirectPct+mixGroupPct:
		k = plan.GroupPrivileges(plan.UserGroups(i)[rng.IntN(2)])[rng.IntN(2)]
	default:
		k = rng.IntN(seed.LoadPrivileges)
	}
	atUnit := rng.IntN(100) < mixAtUnitPct
	req := decisionRequest{UserID: plan.UserID(i).String(), Privilege: plan.PrivilegeURI(k), Level: seed.LoadLevel}
	if atUnit {
		req.Scope = &scopeJSON{Type: scopePNumber, Value: plan.UnitPNumber(plan.UserUnit(i))}
	}
	if plan.PrivilegeConstrained(k) {
		req.Constraints = map[string]string{domain.ConstraintKLE: seed.LoadKLE}
	}
	body, err := json.Marshal(req)
	if err != nil {
		panic(err) // plain strings only
	}
	return question{req: req, body: body, allow: plan.Expect(i, k, atUnit)}
}

// fragment marks a URL with a question's index: vegeta reports the URL with
// each result, and an HTTP client never sends the fragment.
func fragment(url string, i int) string { return url + "#" + strconv.Itoa(i) }

// fragmentIndex reads the index back; -1 when there is none.
func fragmentIndex(url string) int {
	for j := len(url) - 1; j >= 0; j-- {
		if url[j] == '#' {
			i, err := strconv.Atoi(url[j+1:])
			if err != nil {
				return -1
			}
			return i
		}
	}
	return -1
}
