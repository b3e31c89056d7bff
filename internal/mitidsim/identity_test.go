package mitidsim_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/mitidsim"
)

// cvrChecksumOK is the modulus 11 check, written out independently of the package.
func cvrChecksumOK(cvr string) bool {
	if len(cvr) != 8 {
		return false
	}
	sum := 0
	for i, w := range []int{2, 7, 6, 5, 4, 3, 2, 1} {
		if cvr[i] < '0' || cvr[i] > '9' {
			return false
		}
		sum += int(cvr[i]-'0') * w
	}
	return sum%11 == 0
}

// knownInvalidDemoCVRs would list demo CVR numbers that fail modulus 11;
// there are none, and the test keeps it that way.
var knownInvalidDemoCVRs = map[string]bool{}

// TestDemoIdentities pins the built-in identities to the platform's demo
// seed: subject, name, CPR or birth date, IAL and represented CVRs.
func TestDemoIdentities(t *testing.T) {
	t.Parallel()
	want := []struct {
		subject, first, last, cpr, birth string
		ial                              mitidsim.Level
		represents                       []string
	}{
		{"demo-mette", "Mette", "Nordlys", "0505751234", "1975-05-05", mitidsim.LevelHigh, []string{"91234564", "95001238"}},
		{"demo-jonas", "Jonas", "Berg", "1211821235", "1982-11-12", mitidsim.LevelSubstantial, nil},
		{"demo-sofie", "Sofie", "Dam", "2302901236", "1990-02-23", mitidsim.LevelSubstantial, nil},
		{"demo-peter", "Peter", "Holm", "0707691237", "1969-07-07", mitidsim.LevelSubstantial, nil},
		{"demo-rasmus", "Rasmus", "Kjær", "1010881238", "1988-10-10", mitidsim.LevelSubstantial, nil},
		{"demo-lars", "Lars", "Vinther", "1503851239", "1985-03-15", mitidsim.LevelSubstantial, nil},
		{"demo-freja", "Freja", "Lind", "2104921240", "1992-04-21", mitidsim.LevelSubstantial, nil},
		{"demo-henrik", "Henrik", "Skat", "0606801244", "1980-06-06", mitidsim.LevelSubstantial, nil},
		{"demo-anders", "Anders", "Revsbech", "1908781245", "1978-08-19", mitidsim.LevelSubstantial, nil},
		{"demo-emma", "Emma", "Krogh", "0309951241", "1995-09-03", mitidsim.LevelSubstantial, nil},
		{"demo-ahmed", "Ahmed", "Nasser", "", "1991-06-14", mitidsim.LevelSubstantial, nil},
		{"demo-karen", "Karen", "Lund", "1712701242", "1970-12-17", mitidsim.LevelSubstantial, nil},
		{"demo-rikke", "Rikke", "Brandt", "2811791246", "1979-11-28", mitidsim.LevelSubstantial, []string{"30264878", "91234564"}},
		// The 7th digit 1 puts a YY of 03 in the 1900s.
		{"demo-low", "Lise", "Lavsikring", "0102031247", "1903-02-01", mitidsim.LevelLow, nil},
	}
	got := mitidsim.DemoIdentities()
	if len(got) != len(want) {
		t.Fatalf("got %d demo identities, want %d", len(got), len(want))
	}
	uuids := map[string]string{}
	for i, w := range want {
		g := got[i]
		if g.Subject != w.subject || g.FirstName != w.first || g.LastName != w.last || g.CPR != w.cpr ||
			g.BirthDate != w.birth || g.IAL != w.ial || !slices.Equal(g.Represents, w.represents) || !g.Demo {
			t.Errorf("demo identity %d: got %+v, want %+v", i, g, w)
		}
		if g.Note == "" {
			t.Errorf("%s: no role note", g.Subject)
		}
		if w.cpr != "" {
			d, err := time.Parse("020106", w.cpr[:6])
			if err != nil {
				t.Errorf("%s: CPR %s does not start with a DDMMYY date: %v", w.subject, w.cpr, err)
			} else if d.Format("01-02") != w.birth[5:] {
				t.Errorf("%s: CPR date %s does not match birth date %s", w.subject, w.cpr[:6], w.birth)
			}
		}
		for _, cvr := range w.represents {
			if ok := cvrChecksumOK(cvr); ok == knownInvalidDemoCVRs[cvr] {
				t.Errorf("%s: CVR %s passes modulus 11: %v, and is listed as known invalid: %v", w.subject, cvr, ok, knownInvalidDemoCVRs[cvr])
			}
		}
		for _, u := range []string{g.CPRUUID, g.MitIDUUID} {
			if _, err := uuid.Parse(u); err != nil {
				t.Errorf("%s: UUID %q: %v", g.Subject, u, err)
			}
			if other, dup := uuids[u]; dup {
				t.Errorf("%s: UUID %s also used by %s", g.Subject, u, other)
			}
			uuids[u] = g.Subject
		}
	}
	// Stable across calls (and so across restarts: they derive from the subject).
	again := mitidsim.DemoIdentities()
	if again[0].CPRUUID != got[0].CPRUUID || again[0].MitIDUUID != got[0].MitIDUUID {
		t.Error("demo UUIDs differ between calls")
	}
	// DemoIdentities hands out copies.
	got[0].Represents[0] = "00000000"
	if mitidsim.DemoIdentities()[0].Represents[0] != "91234564" {
		t.Error("DemoIdentities shares its slices with the caller")
	}
}

func TestCreateIdentityValidation(t *testing.T) {
	t.Parallel()
	today := time.Now().Format(time.DateOnly)
	valid := mitidsim.IdentityInput{FirstName: "Test", LastName: "Person", CPR: "010190-1111", IAL: mitidsim.LevelSubstantial}
	cases := []struct {
		name      string
		edit      func(*mitidsim.IdentityInput)
		wantField string
		wantMsg   string
	}{
		{"bad CPR date", func(in *mitidsim.IdentityInput) { in.CPR = "3102751234" }, "cpr", "rigtig dato"},
		{"CPR month 13", func(in *mitidsim.IdentityInput) { in.CPR = "0113751234" }, "cpr", "rigtig dato"},
		{"CPR too short", func(in *mitidsim.IdentityInput) { in.CPR = "010190123" }, "cpr", "10 cifre"},
		{"CPR letters", func(in *mitidsim.IdentityInput) { in.CPR = "01019O1234" }, "cpr", "10 cifre"},
		{"CPR already taken", func(in *mitidsim.IdentityInput) { in.CPR = "050575-1234" }, "cpr", "demo-mette"},
		{"neither CPR nor birth date", func(in *mitidsim.IdentityInput) { in.CPR = "" }, "cpr", "Angiv et CPR-nummer"},
		{"bad birth date", func(in *mitidsim.IdentityInput) { in.CPR, in.BirthDate = "", "14-06-1991" }, "birth_date", "ÅÅÅÅ-MM-DD"},
		{"birth date in the future", func(in *mitidsim.IdentityInput) { in.CPR, in.BirthDate = "", "2999-01-01" }, "birth_date", "fremtiden"},
		{"birth date disagrees with CPR", func(in *mitidsim.IdentityInput) { in.BirthDate = "1990-01-02" }, "birth_date", "passer ikke"},
		{"bad CVR checksum", func(in *mitidsim.IdentityInput) { in.Represents = []string{"91234564", "12345678"} }, "represents", "modulus 11"},
		{"CVR too short", func(in *mitidsim.IdentityInput) { in.Represents = []string{"1234567"} }, "represents", "8 cifre"},
		{"no first name", func(in *mitidsim.IdentityInput) { in.FirstName = "  " }, "first_name", "Fornavn"},
		{"no last name", func(in *mitidsim.IdentityInput) { in.LastName = "" }, "last_name", "Efternavn"},
		{"no IAL", func(in *mitidsim.IdentityInput) { in.IAL = 0 }, "ial", "identitetssikring"},
	}
	sim, _ := mitidsim.NewTestServer(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := valid
			tc.edit(&in)
			_, err := sim.CreateIdentity(in)
			var verr mitidsim.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("got %v, want a ValidationError", err)
			}
			found := false
			for _, f := range verr {
				if f.Field == tc.wantField && strings.Contains(strings.ToLower(f.Message), strings.ToLower(tc.wantMsg)) {
					found = true
				}
			}
			if !found {
				t.Errorf("got %v, want field %s saying %q", verr, tc.wantField, tc.wantMsg)
			}
		})
	}

	t.Run("valid with CPR", func(t *testing.T) {
		in := valid
		in.Represents = []string{"91234564", " 95001238", "91234564"}
		id, err := sim.CreateIdentity(in)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(id.Subject, "sim-") || id.CPR != "0101901111" || id.BirthDate != "1990-01-01" ||
			!slices.Equal(id.Represents, []string{"91234564", "95001238"}) || id.CPRUUID == "" || id.MitIDUUID == "" {
			t.Errorf("got %+v, want a sim- subject, CPR without hyphen, its birth date, deduplicated CVRs and UUIDs", id)
		}
		if _, err := sim.CreateIdentity(in); err == nil {
			t.Error("second identity with the same CPR: got no error")
		}
	})
	t.Run("valid with birth date only", func(t *testing.T) {
		in := valid
		in.CPR, in.BirthDate = "", today
		id, err := sim.CreateIdentity(in)
		if err != nil || id.CPR != "" || id.BirthDate != today {
			t.Errorf("got %+v, %v; want an identity born %s without CPR", id, err, today)
		}
	})
}

// TestCreateIdentityForm creates identities through the login page, as a
// tester does, and logs one in.
func TestCreateIdentityForm(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := h.oauth("rp-oiosaml", false, "ssn")
	a := h.authorize(cfg)
	hc := browser(t)
	_, id := h.openLogin(hc, a)

	bad := []struct {
		name      string
		form      url.Values
		wantField string
		wantMsg   string
	}{
		{"bad CPR date", url.Values{"first_name": {"A"}, "last_name": {"B"}, "cpr": {"310275-1234"}, "ial": {"Substantial"}}, "cpr", "rigtig dato"},
		{"bad CVR checksum", url.Values{"first_name": {"A"}, "last_name": {"B"}, "cpr": {"0101901112"}, "ial": {"High"}, "represents": {"91234564, 12345678"}}, "represents", "modulus 11"},
		{"neither CPR nor birth date", url.Values{"first_name": {"A"}, "last_name": {"B"}, "ial": {"Low"}}, "cpr", "Angiv et CPR-nummer"},
		{"unknown IAL", url.Values{"first_name": {"A"}, "last_name": {"B"}, "birth_date": {"1991-01-01"}, "ial": {"Medium"}}, "ial", "Vælg identitetssikring"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			form := tc.form
			form.Set("id", id)
			p := post(t, hc, h.url+"/login/identities", form)
			if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `data-testid="create-error"`) {
				t.Fatalf("got %d, want 422 with the create error", p.Status)
			}
			if !strings.Contains(p.Body, `data-field="`+tc.wantField+`"`) || !strings.Contains(p.Body, tc.wantMsg) {
				t.Errorf("page: want field %s with %q", tc.wantField, tc.wantMsg)
			}
			if !strings.Contains(p.Body, `value="`+form.Get("first_name")+`"`) {
				t.Error("page: the typed values are not kept")
			}
		})
	}

	noRedirect := browser(t)
	noRedirect.Jar = hc.Jar
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	p := post(t, noRedirect, h.url+"/login/identities", url.Values{
		"id": {id}, "first_name": {"Nanna"}, "last_name": {"Ny"}, "cpr": {"1402881118"}, "ial": {"High"}, "represents": {"91234564 95001238"},
	})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("create: got %d, want 303; body: %s", p.Status, p.Body)
	}
	loc, err := url.Parse(p.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	subject := loc.Query().Get("created")
	if !strings.HasPrefix(subject, "sim-") || loc.Query().Get("id") != id {
		t.Fatalf("create redirect: got %s, want the login page for %s with created=sim-…", loc, id)
	}
	page := get(t, hc, h.url+loc.String())
	if !strings.Contains(page.Body, `data-testid="created-subject" data-subject="`+subject+`"`) ||
		!strings.Contains(page.Body, `data-testid="identity-`+subject+`"`) {
		t.Errorf("login page after create: want the notice and a button for %s", subject)
	}

	q := callback(t, h.submitLogin(hc, id, subject, "chip"))
	tk, err := h.exchange(cfg, a, q.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	const eid = "https://data.gov.dk/model/core/eid/"
	for k, want := range map[string]any{
		"sub":               subject,
		"acr":               loaHigh,
		eid + "fullName":    "Nanna Ny",
		eid + "cprNumber":   "1402881118",
		eid + "dateOfBirth": "1988-02-14",
		eid + "professional/authorizedToRepresent": []any{"91234564", "95001238"},
	} {
		if got := tk.Claims[k]; !equalJSON(got, want) {
			t.Errorf("%s: got %v, want %v", k, got, want)
		}
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestPersistence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "nested", "mitid-sim", "identities.json")

	first, _ := newServer(t, mitidsim.Config{StorePath: path})
	created, err := first.CreateIdentity(mitidsim.IdentityInput{FirstName: "Varig", LastName: "Person", BirthDate: "1970-01-01", IAL: mitidsim.LevelHigh, Represents: []string{"95001238"}})
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("identities file: %v", err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("identities file mode: got %o, want 600", perm)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("store directory: got %d entries, want only identities.json (no temp files)", len(entries))
	}

	// A restart: a new server on the same file, with a new signing key.
	second, issuer := newServer(t, mitidsim.Config{StorePath: path})
	got, ok := second.Identity(created.Subject)
	if !ok {
		t.Fatalf("after restart: %s is gone", created.Subject)
	}
	if got.FirstName != "Varig" || got.BirthDate != "1970-01-01" || got.IAL != mitidsim.LevelHigh ||
		got.CPRUUID != created.CPRUUID || got.MitIDUUID != created.MitIDUUID || !slices.Equal(got.Represents, []string{"95001238"}) {
		t.Errorf("after restart: got %+v, want %+v", got, created)
	}
	ids := second.Identities()
	if last := ids[len(ids)-1]; last.Subject != created.Subject {
		t.Errorf("Identities: got %s last, want the created %s after the demo identities", last.Subject, created.Subject)
	}
	// The restarted simulator logs the identity in with the same subject.
	h := newHarnessFor(t, second, issuer)
	tk := h.fullLogin(h.oauth("rp-oiosaml", false), created.Subject, "chip")
	if tk.Claims["sub"] != created.Subject {
		t.Errorf("sub after restart: got %v, want %s", tk.Claims["sub"], created.Subject)
	}
}

func TestStoreFileCannotOverrideDemo(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "identities.json")
	file := `{"version": 1, "identities": [
		{"subject": "demo-mette", "first_name": "Falsk", "last_name": "Mette", "birth_date": "1975-05-05", "ial": "Low"},
		{"subject": "demo-new", "first_name": "Falsk", "last_name": "Demo", "birth_date": "1975-05-05", "ial": "Low"},
		{"subject": "sim-abc", "first_name": "Ægte", "last_name": "Person", "birth_date": "1980-01-01", "ial": "Substantial"}]}`
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	sim, _ := newServer(t, mitidsim.Config{StorePath: path})
	if m, _ := sim.Identity("demo-mette"); m.FirstName != "Mette" || m.IAL != mitidsim.LevelHigh {
		t.Errorf("demo-mette: got %+v, want the built-in one", m)
	}
	if _, ok := sim.Identity("demo-new"); ok {
		t.Error("demo-new from the file: got it, want the demo- prefix reserved")
	}
	if p, ok := sim.Identity("sim-abc"); !ok || p.FirstName != "Ægte" {
		t.Errorf("sim-abc: got %+v, %v, want it loaded", p, ok)
	}
}

func TestStoreFileErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"not JSON":      `{"version": 1, "identities": [`,
		"wrong version": `{"version": 9, "identities": []}`,
		"bad level":     `{"version": 1, "identities": [{"subject": "sim-x", "ial": "Medium"}]}`,
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "identities.json")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := mitidsim.New(t.Context(), mitidsim.Config{Issuer: "http://127.0.0.1:1", StorePath: path}); err == nil {
				t.Error("got no error, want the file refused")
			}
		})
	}
}

// syncBuffer is a log destination shared by the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestNoCPRInLogs creates an identity with a CPR through the form, has a
// login refused and one succeed with the ssn scope, and checks that no CPR
// number reaches the log.
func TestNoCPRInLogs(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	sim, issuer := newServer(t, mitidsim.Config{Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	h := newHarnessFor(t, sim, issuer)
	cfg := h.oauth("rp-oiosaml", false, "ssn")
	a := h.authorize(cfg, acr(loaSubstantial))
	hc := browser(t)
	_, id := h.openLogin(hc, a)
	post(t, hc, issuer+"/login/identities", url.Values{"id": {id}, "first_name": {"Log"}, "last_name": {"Test"}, "cpr": {"170383-1119"}, "ial": {"High"}})
	post(t, hc, issuer+"/login/identities", url.Values{"id": {id}, "first_name": {"Log"}, "last_name": {"Igen"}, "cpr": {"170383-1119"}, "ial": {"High"}})
	h.submitLogin(hc, id, "demo-mette", "password")
	q := callback(t, h.submitLogin(hc, id, "demo-mette", "code_app"))
	if _, err := h.exchange(cfg, a, q.Get("code")); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	for _, want := range []string{`"msg":"identity created"`, `"msg":"login refused"`, `"msg":"login"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log: want %s; the test would prove little without it", want)
		}
	}
	for _, cpr := range []string{"1703831119", "170383-1119", "0505751234", "050575"} {
		if strings.Contains(out, cpr) {
			t.Errorf("log contains %s", cpr)
		}
	}
}
