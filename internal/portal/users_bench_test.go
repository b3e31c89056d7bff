package portal_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/erhverv/erhverv/internal/portal"
)

// seedUsers copies n users into the organisation in one COPY: names from
// small lists so searches find realistic numbers, statuses mixed.
func seedUsers(b *testing.B, p *platform, orgID uuid.UUID, n int) {
	b.Helper()
	first := []string{"Anna", "Bo", "Camilla", "Dennis", "Emma", "Frederik", "Grete", "Henrik", "Ida", "Jens", "Karen", "Lars", "Mette", "Niels", "Ole", "Pia"}
	last := []string{"Andersen", "Berg", "Christensen", "Dahl", "Eriksen", "Frandsen", "Hansen", "Jensen", "Kjær", "Larsen", "Madsen", "Nielsen", "Olsen", "Pedersen", "Rasmussen", "Sørensen", "Thomsen", "Vestergaard"}
	statuses := []string{"active", "active", "active", "active", "pending", "deactivated"}
	born := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	now := time.Now()
	rows := make([][]any, n)
	for i := range rows {
		st := statuses[i%len(statuses)]
		var activated any
		if st != "pending" {
			activated = now
		}
		rows[i] = []any{uuid.New(), orgID, first[i%len(first)], fmt.Sprintf("%s%d", last[(i/len(first))%len(last)], i), fmt.Sprintf("user%d@bench.example.dk", i), born, st, activated}
	}
	_, err := p.db.Pool().CopyFrom(context.Background(), pgx.Identifier{"users"},
		[]string{"id", "org_id", "first_name", "last_name", "email", "birth_date", "status", "activated_at"}, pgx.CopyFromRows(rows))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := p.db.SQL().Exec("ANALYZE users"); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkUsersPage measures the users page of an organisation with
// 100,000 users, through HTTP on this machine: the first page, a search
// and a status filter. It reports the 95th percentile besides the mean.
//
//	go test -run '^$' -bench BenchmarkUsersPage -benchtime 300x ./internal/portal/
func BenchmarkUsersPage(b *testing.B) {
	p := newPlatform(b, "oiosaml")
	org, admin := p.employ("demo-jonas", "91234564", "Nordlys Rådgivning ApS")
	seedUsers(b, p, org.ID, 100_000)
	_ = admin
	hc := browser(b)
	p.loginAs(hc, "/login", "demo-jonas", "code_app").Body.Close()
	for _, bc := range []struct{ name, query string }{
		{"first_page", ""},
		{"search", "?q=larsen"},
		{"filtered", "?status=deactivated"},
		{"search_email", "?q=user99999@"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			url := p.url + portal.UsersPath + bc.query
			durations := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				resp, err := hc.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("%s: %d", url, resp.StatusCode)
				}
				durations = append(durations, time.Since(start))
			}
			slices.Sort(durations)
			if len(durations) > 0 {
				b.ReportMetric(float64(durations[len(durations)*95/100].Microseconds())/1000, "p95-ms")
				b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "p50-ms")
			}
		})
	}
}
