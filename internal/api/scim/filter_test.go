package scim

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/postgres"
)

// show writes a translated filter in prefix form, for comparing.
func show(f *postgres.SCIMFilter) string {
	if f == nil {
		return "all"
	}
	switch f.Op {
	case "and", "or", "not":
		s := f.Op + "("
		for i, sub := range f.Sub {
			if i > 0 {
				s += " "
			}
			s += show(sub)
		}
		return s + ")"
	case "true", "false":
		return f.Op
	}
	return fmt.Sprintf("%s %s %v", f.Field, f.Op, f.Value)
}

func TestParseFilter(t *testing.T) {
	t.Parallel()
	id := uuid.New()
	tests := []struct {
		filter string
		fields map[string]fieldSpec
		core   string
		want   string
	}{
		{"", userFilterFields, schemaUser, "all"},
		{`USERNAME Eq "A@b.dk"`, userFilterFields, schemaUser, "email eq A@b.dk"},
		{`active eq true`, userFilterFields, schemaUser, "or(status eq pending status eq active)"},
		{`active ne true`, userFilterFields, schemaUser, "status eq deactivated"},
		{`active pr`, userFilterFields, schemaUser, "status pr <nil>"},
		{`emails[type eq "work" and value sw "a"]`, userFilterFields, schemaUser, "and(true email sw a)"},
		{`emails[type eq "home"] or not (name.givenName co "x")`, userFilterFields, schemaUser, "or(false not(first_name co x))"},
		{`id eq "` + id.String() + `"`, userFilterFields, schemaUser, "id eq " + id.String()},
		{`id eq "Test_User_1"`, userFilterFields, schemaUser, "id eq " + uuid.Nil.String()},
		{`meta.lastModified ge "2026-01-31T12:00:00Z"`, groupFilterFields, schemaGroup, "modified ge 2026-01-31 12:00:00 +0000 UTC"},
		{`urn:ietf:params:scim:schemas:core:2.0:Group:displayName sw "S"`, groupFilterFields, schemaGroup, "name sw S"},
		{`members[value eq "` + id.String() + `"]`, groupFilterFields, schemaGroup, "member eq " + id.String()},
	}
	for _, tc := range tests {
		f, err := parseFilter(tc.filter, tc.fields, tc.core)
		if err != nil {
			t.Errorf("%s: %v", tc.filter, err)
			continue
		}
		if got := show(f); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.filter, got, tc.want)
		}
	}
	for _, bad := range []string{`userName`, `(userName eq "a"`, `userName eq "a" or`, `title eq "x"`, `urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "x"`,
		`active gt true`, `active eq 1`, `id co "a"`, `userName eq 5`, `meta.created eq "today"`, `emails[primary eq "maybe"]`} {
		_, err := parseFilter(bad, userFilterFields, schemaUser)
		var se *scimError
		if !errors.As(err, &se) || se.scimType != "invalidFilter" {
			t.Errorf("%s: got %v, want invalidFilter", bad, err)
		}
	}
}
