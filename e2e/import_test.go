package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// importFile writes a CSV of n new users as Danish Excel saves it (BOM,
// semicolons); bad lists the rows (1-based among the users) to spoil.
func importFile(t *testing.T, n int, bad map[int]string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("\ufeffhandling;fornavn;efternavn;email;telefon;cpr\r\n")
	for i := 1; i <= n; i++ {
		email := fmt.Sprintf("import%02d@nordlys.example.dk", i)
		cpr := fmt.Sprintf("0101%02d%04d", 70+i%20, 2000+i)
		switch bad[i] {
		case "email":
			email = "ikke-en-mail"
		case "cpr":
			cpr = "3213991234"
		}
		fmt.Fprintf(&b, "opret;Import;Person %02d;%s;+45200000%02d;%s\r\n", i, email, i, cpr)
	}
	path := filepath.Join(t.TempDir(), "brugere.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A user administrator imports 50 users: the first file has two bad rows,
// the preview names them and nothing is created; the fixed file goes in.
func TestUserAdministratorImportsUsersFromCSV(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	ctx := browser(t)
	run(t, ctx, chromedp.Navigate(s.URL+"/login"))
	mitIDLogin(t, ctx, "demo-jonas", "overview-heading")
	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/portal/users"),
		chromedp.Click(sel("users-import")),
		chromedp.WaitVisible(sel("import-form")),
		chromedp.SetUploadFiles(sel("import-file"), []string{importFile(t, 50, map[int]string{7: "email", 31: "cpr"})}),
		chromedp.Click(sel("import-submit")),
		chromedp.WaitVisible(sel("import-has-errors")),
	); err != nil {
		t.Fatal(err)
	}
	rows := textOf(t, ctx, "import-rows")
	for _, want := range []string{"8", "32"} { // spreadsheet rows: the heading is row 1
		if !strings.Contains(rows, want) {
			t.Errorf("preview does not name row %s:\n%s", want, rows)
		}
	}
	if strings.Contains(rows, "3213991234") {
		t.Error("the preview repeats a CPR number")
	}
	screenshot(t, ctx, "import-preview-errors")
	if n := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="import-confirm"]').length`)); n != 0 {
		t.Error("a file with errors can be confirmed")
	}

	// The fixed file.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/portal/users/import"),
		chromedp.WaitVisible(sel("import-form")),
		chromedp.SetUploadFiles(sel("import-file"), []string{importFile(t, 50, nil)}),
		chromedp.Click(sel("import-submit")),
		chromedp.WaitVisible(sel("import-confirm")),
	); err != nil {
		t.Fatal(err)
	}
	if summary := textOf(t, ctx, "import-summary"); !strings.Contains(summary, "50") {
		t.Errorf("summary: %q", summary)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(sel("import-confirm")),
		chromedp.WaitVisible(sel("import-applied")),
		chromedp.Navigate(s.URL+"/portal/users?q=import"),
		chromedp.WaitVisible(sel("users-table")),
	); err != nil {
		t.Fatal(err)
	}
	n := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="users-table"] tbody tr').length`))
	next := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="users-next"]').length`))
	if n != 50 || next != 0 {
		t.Errorf("users found after the import: %d rows (next page link %d), want 50", n, next)
	}
}
