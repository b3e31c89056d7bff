package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/erhverv/erhverv/internal/domain"
)

func TestValidateCVR(t *testing.T) {
	t.Parallel()
	cases := []struct {
		cvr     string
		wantKey string // "" means valid
	}{
		{"10000009", ""}, // 2*1 + 9 = 11
		{"25313763", ""}, // a real company's CVR
		{"10000008", "cvr.checksum"},
		{"1000000", "cvr.format"},
		{"100000090", "cvr.format"},
		{"1000000a", "cvr.format"},
		{"", "cvr.format"},
	}
	for _, c := range cases {
		err := domain.ValidateCVR("cvr", c.cvr)
		if got := keyOf(err); got != c.wantKey {
			t.Errorf("ValidateCVR(%q): got key %q, want %q", c.cvr, got, c.wantKey)
		}
		if err != nil && domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("ValidateCVR(%q): got code %q, want %q", c.cvr, domain.ErrorCode(err), domain.EINVALID)
		}
	}
}

func TestCPRBirthDate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		cpr     string
		want    string
		wantKey string
	}{
		{"0101901234", "1990-01-01", ""},
		{"3112994321", "1999-12-31", ""},         // 7th digit 4, yy 99 → 1900s
		{"0101054321", "2005-01-01", ""},         // 7th digit 4, yy 05 → 2000s
		{"0101605321", "1860-01-01", ""},         // 7th digit 5, yy 60 → 1800s
		{"2902001234", "1900-02-28", "cpr.date"}, // 1900 was no leap year
		{"2902004234", "2000-02-29", ""},         // 2000 was
		{"3204901234", "", "cpr.date"},
		{"0013901234", "", "cpr.date"},
		{"010190123", "", "cpr.format"},
		{"010190-123", "", "cpr.format"},
	}
	for _, c := range cases {
		got, err := domain.CPRBirthDate("cpr", c.cpr)
		if k := keyOf(err); k != c.wantKey {
			t.Errorf("CPRBirthDate(%q): got key %q, want %q", c.cpr, k, c.wantKey)
			continue
		}
		if err == nil && got.Format(time.DateOnly) != c.want {
			t.Errorf("CPRBirthDate(%q): got %s, want %s", c.cpr, got.Format(time.DateOnly), c.want)
		}
		if err != nil && strings.Contains(err.Error(), c.cpr) {
			t.Errorf("CPRBirthDate(%q): the error repeats the CPR number: %v", c.cpr, err)
		}
	}
}

func TestIdentifierFormats(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		err     error
		wantKey string
	}{
		{"p ok", domain.ValidatePNumber("p", "1003388394"), ""},
		{"p short", domain.ValidatePNumber("p", "100338839"), "pnumber.format"},
		{"p long", domain.ValidatePNumber("p", "10033883945"), "pnumber.format"},
		{"se ok", domain.ValidateSENumber("se", "12345678"), ""},
		{"se letters", domain.ValidateSENumber("se", "1234567x"), "senumber.format"},
		{"email ok", domain.ValidateEmail("email", "jens@example.dk"), ""},
		{"email no domain dot", domain.ValidateEmail("email", "jens@example"), "email.format"},
		{"email display name", domain.ValidateEmail("email", "Jens <jens@example.dk>"), "email.format"},
		{"email empty", domain.ValidateEmail("email", ""), "email.format"},
		{"phone ok", domain.ValidatePhone("phone", "+4512345678"), ""},
		{"phone short", domain.ValidatePhone("phone", "1234"), "phone.format"},
	}
	for _, c := range cases {
		if got := keyOf(c.err); got != c.wantKey {
			t.Errorf("%s: got key %q, want %q (%v)", c.name, got, c.wantKey, c.err)
		}
	}
}

func TestUserValidateTakesBirthDateFromCPR(t *testing.T) {
	t.Parallel()
	u := &domain.User{FirstName: "Jens", LastName: "Hansen", Email: "jens@example.dk", CPR: "0101901234", Status: domain.UserPending}
	if err := u.Validate(); err != nil {
		t.Fatalf("Validate: got %v, want nil", err)
	}
	if got := u.BirthDate.Format(time.DateOnly); got != "1990-01-01" {
		t.Errorf("BirthDate: got %s, want 1990-01-01", got)
	}
}

func TestUserValidateReportsEveryField(t *testing.T) {
	t.Parallel()
	u := &domain.User{Email: "nope", Status: "zombie"}
	err := u.Validate()
	verrs, ok := err.(domain.ValidationErrors)
	if !ok {
		t.Fatalf("Validate: got %T, want ValidationErrors", err)
	}
	fields := verrs.Fields()
	for _, f := range []string{"first_name", "last_name", "email", "birth_date", "status"} {
		if fields[f] == nil {
			t.Errorf("Validate: no error for field %s; got %v", f, err)
		}
	}
	if got := domain.ErrorCode(err); got != domain.EINVALID {
		t.Errorf("ErrorCode: got %q, want %q", got, domain.EINVALID)
	}
}

func TestCanTransition(t *testing.T) {
	t.Parallel()
	allowed := map[[2]string]bool{
		{"pending", "active"}: true, {"pending", "deleted"}: true,
		{"active", "deactivated"}: true, {"active", "deleted"}: true,
		{"deactivated", "active"}: true, {"deactivated", "deleted"}: true,
	}
	states := []string{"pending", "active", "deactivated", "deleted"}
	for _, from := range states {
		for _, to := range states {
			if got, want := domain.CanTransition(from, to), allowed[[2]string{from, to}]; got != want {
				t.Errorf("CanTransition(%s, %s): got %v, want %v", from, to, got, want)
			}
		}
	}
}

func TestErrorCodeOfPlainError(t *testing.T) {
	t.Parallel()
	if got := domain.ErrorCode(errString("boom")); got != domain.EINTERNAL {
		t.Errorf("got %q, want %q", got, domain.EINTERNAL)
	}
	if got := domain.ErrorMessage(errString("secret detail")); got == "secret detail" {
		t.Errorf("ErrorMessage leaked an internal error's text: %q", got)
	}
	if got := domain.ErrorCode(nil); got != "" {
		t.Errorf("ErrorCode(nil): got %q, want empty", got)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func keyOf(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := err.(*domain.Error); ok {
		return e.Key
	}
	return "not a *domain.Error: " + err.Error()
}
