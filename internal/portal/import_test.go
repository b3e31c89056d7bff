package portal_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/portal"
	"github.com/erhverv/erhverv/internal/postgres"
)

// importAdmin is demo-jonas as a user administrator (who may import) of a
// new organisation.
func (p *platform) importAdmin(cvr, name string) (*domain.Organisation, *domain.User) {
	p.t.Helper()
	org, admin := p.employ("demo-jonas", cvr, name)
	if err := p.roles.AssignAdminRole(context.Background(), &domain.AdminRole{OrgID: org.ID, UserID: admin.ID, Role: domain.RoleUserAdmin}); err != nil {
		p.t.Fatal(err)
	}
	return org, admin
}

// importEmployee is an active user of org with no administrator role.
func (p *platform) importEmployee(org *domain.Organisation, subject string) *domain.User {
	p.t.Helper()
	ctx := context.Background()
	id, _ := p.sim.Identity(subject)
	u := &domain.User{OrgID: org.ID, FirstName: id.FirstName, LastName: id.LastName, Email: subject + "@example.dk", CPR: id.CPR, Status: domain.UserActive}
	if err := p.users.CreateUser(ctx, u); err != nil {
		p.t.Fatal(err)
	}
	if err := p.users.LinkPerson(ctx, &domain.PersonLink{OrgID: org.ID, UserID: u.ID, BrokerIssuer: p.sim.Issuer(), BrokerSubject: subject}); err != nil {
		p.t.Fatal(err)
	}
	return u
}

// upload posts file as the import form does and follows the answer.
func upload(t *testing.T, hc *http.Client, base, name, file string) *http.Response {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(fw, file)
	_ = mw.Close()
	resp, err := hc.Post(base+portal.ImportPath, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func mustGet(t *testing.T, hc *http.Client, u string) *http.Response {
	t.Helper()
	resp, err := hc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func mustPost(t *testing.T, hc *http.Client, u string) *http.Response {
	t.Helper()
	resp, err := hc.Post(u, "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func rowText(doc *goquery.Document, line string) string {
	return strings.Join(strings.Fields(doc.Find(`[data-testid="import-row-`+line+`"]`).Text()), " ")
}

func TestImportPreviewThenConfirm(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	org, _ := p.importAdmin("91234564", "Nordlys Rådgivning ApS")
	lars := p.importEmployee(org, "demo-lars")
	hc := browser(t)
	p.loginAs(hc, "/login", "demo-jonas", "code_app").Body.Close()
	ctx := context.Background()

	doc := page(t, mustGet(t, hc, p.url+portal.ImportPath))
	if doc.Find(`[data-testid="import-form"]`).Length() != 1 || doc.Find(`[data-testid="import-export"]`).Length() != 1 {
		t.Fatalf("import page: %s", text(doc, "import-heading"))
	}
	resp := mustGet(t, hc, p.url+portal.ImportTemplatePath)
	tmpl, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(tmpl), "\ufeffhandling;uuid;fornavn;efternavn;email") ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("template: %d %q", resp.StatusCode, tmpl)
	}

	// A file with problems: every row's, with its row and column, in
	// Danish; markup as text; no CPR number repeated; no confirm button.
	bad := "\ufeffhandling;uuid;fornavn;efternavn;email;cpr;fødselsdato\r\n" +
		"opret;;<script>alert(1)</script>;Hansen;ikke-en-mail;;1985-04-23\r\n" +
		"opret;;Bo;Berg;bo@example.dk;3213901234;\r\n" +
		"opret;;Cai;Dam;bo@example.dk;;1985-04-23\r\n" +
		"flyt;;Dan;Eg;dan@example.dk;;1985-04-23\r\n"
	resp = upload(t, hc, p.url, "brugere.csv", bad)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.Path, portal.ImportPath+"/") {
		t.Fatalf("upload with errors: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	badURL := resp.Request.URL.String()
	if strings.Contains(string(body), "3213901234") {
		t.Error("the preview repeats a CPR number")
	}
	doc, _ = goquery.NewDocumentFromReader(bytes.NewReader(body))
	if got := text(doc, "import-count-errors"); got != "4" {
		t.Errorf("rows with errors: got %q, want 4", got)
	}
	for line, want := range map[string]string{
		"2": "email: Skriv e-mailadressen som navn@eksempel.dk.",
		"3": "cpr: De første seks cifre i et CPR-nummer skal være en rigtig dato",
		"4": "email: En tidligere række har samme e-mail. (se række 3)",
		"5": "handling: Ukendt handling",
	} {
		if got := rowText(doc, line); !strings.Contains(got, want) {
			t.Errorf("row %s: got %q, want it to contain %q", line, got, want)
		}
	}
	if got := rowText(doc, "2"); !strings.Contains(got, "<script>alert(1)</script>") {
		t.Errorf("markup: got %q, want it shown as text", got)
	}
	if doc.Find(`[data-testid="import-rows"] script`).Length() != 0 {
		t.Error("markup from the file became an element")
	}
	if doc.Find(`[data-testid="import-confirm"]`).Length() != 0 {
		t.Error("a file with errors can be confirmed")
	}
	resp = mustPost(t, hc, badURL+"/confirm")
	doc = page(t, resp)
	if resp.StatusCode != http.StatusBadRequest || text(doc, "import-notice") == "" {
		t.Errorf("confirming a file with errors: %d %q", resp.StatusCode, text(doc, "import-notice"))
	}
	// English, on request.
	doc = page(t, mustGet(t, hc, badURL+"?lang=en"))
	if got := rowText(doc, "4"); !strings.Contains(got, "An earlier row has the same email. (see row 3)") {
		t.Errorf("row 4 in English: %q", got)
	}
	mustGet(t, hc, p.url+"/?lang=da").Body.Close()

	// A good file: the preview counts, confirming applies it all.
	good := "handling,uuid,fornavn,efternavn,email,fødselsdato,afdeling\n" +
		"opret,,Nina,Nord,nina@example.dk,23-04-1985,Salg\n" +
		"opret,,Ole,Olsen,ole@example.dk,1990-01-02,\n" +
		"opdater," + lars.ID.String() + ",Lars,Vinther,lars.ny@example.dk,,Lager\n"
	resp = upload(t, hc, p.url, "gode.csv", good)
	doc = page(t, resp)
	goodURL := resp.Request.URL.String()
	if text(doc, "import-count-creates") != "2" || text(doc, "import-count-updates") != "1" || text(doc, "import-count-errors") != "0" {
		t.Fatalf("good file: %s", text(doc, "import-summary"))
	}
	if doc.Find(`[data-testid="import-confirm"]`).Length() != 1 {
		t.Fatal("no confirm button for a good file")
	}
	resp = mustPost(t, hc, goodURL+"/confirm")
	doc = page(t, resp)
	if resp.StatusCode != http.StatusOK || text(doc, "import-applied") == "" {
		t.Fatalf("after confirm: %d %s", resp.StatusCode, doc.Find("main").Text())
	}
	got, err := p.users.FindUserByID(ctx, org.ID, lars.ID)
	if err != nil || got.Email != "lars.ny@example.dk" || got.ExtraFields["department"] != "Lager" {
		t.Errorf("lars after import: %+v %v", got, err)
	}
	users, _, _ := p.users.FindUsers(ctx, domain.UserFilter{OrgID: org.ID, Query: "nina@example.dk"})
	if len(users) != 1 || users[0].Status != domain.UserPending {
		t.Errorf("nina after import: %+v", users)
	}
	actions := p.auditActions(&org.ID)
	if count(actions, "user_import.applied") != 1 || count(actions, "user.created") != 2 || count(actions, "user.updated") != 1 {
		t.Errorf("audit after import: %v", actions)
	}
	// Confirming twice changes nothing more.
	resp = mustPost(t, hc, goodURL+"/confirm")
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("second confirm: %d, want 409", resp.StatusCode)
	}

	// The export: the same format, every living user, never a CPR number.
	resp = mustGet(t, hc, p.url+portal.UsersExportPath)
	export, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id, _ := p.sim.Identity("demo-jonas")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(export), "\ufeffhandling;uuid;") ||
		!strings.Contains(string(export), "opdater;"+lars.ID.String()+";Lars;Vinther;lars.ny@example.dk") ||
		strings.Contains(string(export), id.CPR) {
		t.Errorf("export: %d\n%s", resp.StatusCode, export)
	}
	if count(p.auditActions(&org.ID), "users.exported") != 1 {
		t.Error("the export is not audited")
	}
}

func TestImportRefusals(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	org, _ := p.importAdmin("91234564", "Nordlys Rådgivning ApS")
	p.importEmployee(org, "demo-lars")
	other, otherAdmin := p.employ("demo-henrik", "93847261", "Skattefar Digital A/S")
	ctx := context.Background()
	theirs, err := p.users.Imports().Stage(ctx, postgres.StageRequest{OrgID: other.ID, UploadedBy: otherAdmin.ID,
		File: strings.NewReader("handling;fornavn;efternavn;email;fødselsdato\nopret;A;B;a@example.dk;1985-04-23\n")})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("an employee without user_import", func(t *testing.T) {
		t.Parallel()
		hc := browser(t)
		p.loginAs(hc, "/login", "demo-lars", "code_app").Body.Close()
		for _, u := range []string{portal.ImportPath, portal.ImportTemplatePath, portal.UsersExportPath} {
			if resp := mustGet(t, hc, p.url+u); resp.StatusCode != http.StatusForbidden {
				t.Errorf("GET %s: %d, want 403", u, resp.StatusCode)
			}
		}
		resp := upload(t, hc, p.url, "x.csv", "handling\nslet\n")
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("upload: %d, want 403", resp.StatusCode)
		}
	})
	t.Run("the administrator", func(t *testing.T) {
		t.Parallel()
		hc := browser(t)
		p.loginAs(hc, "/login", "demo-jonas", "code_app").Body.Close()
		// Another organisation's import is not found, and stays as it was.
		for _, do := range []func() *http.Response{
			func() *http.Response { return mustGet(t, hc, p.url+portal.ImportPath+"/"+theirs.ID.String()) },
			func() *http.Response {
				return mustPost(t, hc, p.url+portal.ImportPath+"/"+theirs.ID.String()+"/confirm")
			},
			func() *http.Response {
				return mustPost(t, hc, p.url+portal.ImportPath+"/"+theirs.ID.String()+"/discard")
			},
			func() *http.Response { return mustGet(t, hc, p.url+portal.ImportPath+"/not-a-uuid") },
		} {
			resp := do()
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s: %d, want 404", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode)
			}
		}
		if imp, err := p.users.Imports().FindImport(ctx, other.ID, otherAdmin.ID, theirs.ID); err != nil || imp.Status != "pending" {
			t.Errorf("their import after the attempts: %+v %v", imp, err)
		}
		// A file that cannot be read: the form again, saying why.
		resp := upload(t, hc, p.url, "x.csv", "handling;skonummer\nopret;42\n")
		doc := page(t, resp)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(text(doc, "import-error"), "skonummer") {
			t.Errorf("unknown heading: %d %q", resp.StatusCode, text(doc, "import-error"))
		}
		resp = mustPost(t, hc, p.url+portal.ImportPath)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("no file: %d, want 400", resp.StatusCode)
		}
		// More than 50 MB: refused before it is read.
		big := strings.NewReader(strings.Repeat("x", 51<<20))
		req, _ := http.NewRequest(http.MethodPost, p.url+portal.ImportPath, big)
		req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("upload of 51 MB: %v", err)
		}
		doc = page(t, resp)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(text(doc, "import-error"), "50 MB") {
			t.Errorf("upload of 51 MB: %d %q", resp.StatusCode, text(doc, "import-error"))
		}
		// Discarding one's own import.
		resp = upload(t, hc, p.url, "x.csv", "handling;fornavn;efternavn;email;fødselsdato\nopret;A;B;a@example.dk;1985-04-23\n")
		resp.Body.Close()
		mine := resp.Request.URL.String()
		resp = mustPost(t, hc, mine+"/discard")
		resp.Body.Close()
		if resp.Request.URL.Path != portal.ImportPath {
			t.Errorf("after discard: %s", resp.Request.URL.Path)
		}
		if resp = mustGet(t, hc, mine); resp.StatusCode != http.StatusNotFound {
			t.Errorf("discarded import: %d, want 404", resp.StatusCode)
		}
		resp.Body.Close()
	})
}
