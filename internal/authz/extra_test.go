package authz

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/erhverv/erhverv/policy"
)

func policyFS() fs.FS { return policy.FS }

// writeTree writes files (relative path → content) under a new temporary directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func userAdminInput(action string) Input {
	return Input{
		Subject:  Subject{UserID: "u", OrgID: "o", Status: StatusActive, Roles: []RoleGrant{{Role: RoleUserAdmin, OrgID: "o"}}},
		Action:   action,
		Resource: Resource{Type: "user", OrgID: "o", ID: "v"},
		Context:  Context{Now: testNow, ActiveOrgAdmins: 2},
	}
}

func TestExtraDirOverrides(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		files     map[string]string
		action    string
		wantAllow bool
		wantCodes []string
	}{
		{
			name:      "without extra policies user_admin exports users",
			action:    ActionUserExport,
			wantAllow: true,
			wantCodes: []string{CodeRoleGrantsAction},
		},
		{
			name: "an added module adds a denial",
			files: map[string]string{"admin/freeze.rego": `package erhverv.admin

_rule_denials contains _reason("export_frozen", "Exports are frozen.") if input.action == "user.export"
`},
			action:    ActionUserExport,
			wantCodes: []string{"export_frozen"},
		},
		{
			name: "a module of the same path replaces the embedded one",
			files: map[string]string{"admin/decision.rego": `package erhverv.admin

decision := {"allow": false, "reasons": [{"code": "closed", "message": "Closed for maintenance."}]}
`},
			action:    ActionUserRead,
			wantCodes: []string{"closed"},
		},
		{
			name:      "data merges over the catalogue",
			files:     map[string]string{"erhverv/catalogue/data.json": `{"roles": {"user_admin": {"actions": ["user.read"]}}}`},
			action:    ActionUserExport,
			wantCodes: []string{CodeNoRole},
		},
		{
			name: "tests in the extra directory are not loaded",
			files: map[string]string{"admin/broken_test.rego": `package erhverv.admin_test

this does not parse
`},
			action:    ActionUserRead,
			wantAllow: true,
			wantCodes: []string{CodeRoleGrantsAction},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := Options{}
			if tt.files != nil {
				opts.ExtraDir = writeTree(t, tt.files)
			}
			e, err := New(t.Context(), opts)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			got, err := e.Decide(t.Context(), userAdminInput(tt.action))
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if got.Allow != tt.wantAllow || strings.Join(got.Codes(), ",") != strings.Join(tt.wantCodes, ",") {
				t.Errorf("got allow %v codes %v, want allow %v codes %v", got.Allow, got.Codes(), tt.wantAllow, tt.wantCodes)
			}
		})
	}
}

func TestExtraDirFailsNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		dir     func(t *testing.T) string
		wantErr string
	}{
		{
			name:    "missing directory",
			dir:     func(t *testing.T) string { return filepath.Join(t.TempDir(), "absent") },
			wantErr: "load extra policy directory",
		},
		{
			name: "a file, not a directory",
			dir: func(t *testing.T) string {
				return filepath.Join(writeTree(t, map[string]string{"policy.rego": "package x\n"}), "policy.rego")
			},
			wantErr: "is not a directory",
		},
		{
			name: "a module that does not parse",
			dir: func(t *testing.T) string {
				return writeTree(t, map[string]string{"admin/broken.rego": "package erhverv.admin\n\nallow if {\n"})
			},
			wantErr: "broken.rego",
		},
		{
			name: "a module that does not compile",
			dir: func(t *testing.T) string {
				return writeTree(t, map[string]string{"admin/undefined.rego": "package erhverv.admin\n\n_x := no_such_function(1)\n"})
			},
			wantErr: "compile policy",
		},
		{
			name: "replacing the decision away",
			dir: func(t *testing.T) string {
				return writeTree(t, map[string]string{"admin/decision.rego": "package erhverv.admin\n\nverdict := false\n"})
			},
			wantErr: "no rule defines data.erhverv.admin.decision",
		},
		{
			name: "data that does not parse",
			dir: func(t *testing.T) string {
				return writeTree(t, map[string]string{"erhverv/catalogue/data.json": "{"})
			},
			wantErr: "data.json",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := New(t.Context(), Options{ExtraDir: tt.dir(t)})
			if err == nil {
				t.Fatalf("got engine %v and no error, want an error containing %q", e, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got error %q, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestDecideFailsClosed checks that a policy giving no decision, or one of the
// wrong shape, is an error and a denial, never an allow.
func TestDecideFailsClosed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		file     string // admin/decision.rego unless set
		decision string
		wantErr  error
	}{
		{name: "two decisions that disagree", file: "admin/second.rego", decision: `decision := {"allow": true, "reasons": []}`},
		{name: "undefined decision", decision: `decision := {"allow": true, "reasons": []} if input.action == "never"`, wantErr: ErrNoDecision},
		{name: "allow is no boolean", decision: `decision := {"allow": "yes", "reasons": []}`},
		{name: "reasons are no array", decision: `decision := {"allow": true, "reasons": "fine"}`},
		{name: "a reason without a code", decision: `decision := {"allow": true, "reasons": [{"message": "fine"}]}`},
		{name: "a reason of the wrong type", decision: `decision := {"allow": true, "reasons": ["fine"]}`},
		{name: "a decision that is no object", decision: `decision := true`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			file := "admin/decision.rego"
			if tt.file != "" {
				file = tt.file
			}
			dir := writeTree(t, map[string]string{file: "package erhverv.admin\n\n" + tt.decision + "\n"})
			e, err := New(t.Context(), Options{ExtraDir: dir})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			got, err := e.Decide(t.Context(), userAdminInput(ActionUserRead))
			if err == nil {
				t.Fatalf("got %+v and no error, want an error", got)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("got error %v, want %v", err, tt.wantErr)
			}
			if got.Allow {
				t.Errorf("got allow with error %v, want deny", err)
			}
		})
	}
}
