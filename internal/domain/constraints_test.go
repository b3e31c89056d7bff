package domain

import "testing"

func TestValidateConstraintValue(t *testing.T) {
	for _, tc := range []struct {
		typ, value string
		ok         bool
	}{
		{ConstraintKLE, "25", true},
		{ConstraintKLE, "25.02", true},
		{ConstraintKLE, "25.02.01", true},
		{ConstraintKLE, "25.*", true},
		{ConstraintKLE, "25.02.*", true},
		{ConstraintKLE, "25.02.01.*", false},
		{ConstraintKLE, "2502", false},
		{ConstraintKLE, "abc", false},
		{ConstraintPNumber, "1234567890", true},
		{ConstraintPNumber, "12345", false},
		{ConstraintSE, "12345678", true},
		{ConstraintSE, "1234567x", false},
		{ConstraintCVR, "30264878", true},
		{ConstraintCVR, "30264879", false},
		{"urn:example:region", "Hovedstaden", true},
		{"urn:example:region", "", false},
		{"urn:example:region", "a\nb", false},
	} {
		err := ValidateConstraintValue(tc.typ, tc.value)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateConstraintValue(%s, %q) = %v, want ok=%v", tc.typ, tc.value, err, tc.ok)
		}
	}
}

func TestValidateConstraintsRefusesUndeclaredTypes(t *testing.T) {
	err := ValidateConstraints([]string{ConstraintKLE}, map[string]string{ConstraintPNumber: "1234567890"})
	if ErrorCode(err) != EINVALID {
		t.Fatalf("undeclared type: %v, want EINVALID", err)
	}
	if err := ValidateConstraints([]string{ConstraintKLE}, map[string]string{ConstraintKLE: "25.*"}); err != nil {
		t.Fatalf("declared type: %v", err)
	}
}

func TestConstraintMatchesAndWithin(t *testing.T) {
	if !ConstraintMatches("25.*", "25.02.01") || ConstraintMatches("25.*", "26.01") || !ConstraintMatches("25.02", "25.02") || ConstraintMatches("25.02", "25.02.01") {
		t.Fatal("ConstraintMatches")
	}
	outer := map[string]string{ConstraintKLE: "25.*"}
	for inner, want := range map[string]bool{"25.02.*": true, "25.02.01": true, "25.*": true, "26.*": false, "": false} {
		in := map[string]string{}
		if inner != "" {
			in[ConstraintKLE] = inner
		}
		if got := ConstraintsWithin(outer, in); got != want {
			t.Errorf("ConstraintsWithin(25.*, %q) = %v, want %v", inner, got, want)
		}
	}
	// A pattern never widens a plain value, nor a narrower pattern.
	for _, tc := range []struct {
		outer, inner string
		want         bool
	}{
		{"Nord", "Nord*", false},
		{"Nord", "*", false},
		{"25.02.*", "25.*", false},
		{"25.*", "25.02.*", true},
		{"Nord*", "Nordvest", true},
		{"Nord*", "Nordvest*", true},
		{"Nord", "Nord", true},
	} {
		got := ConstraintsWithin(map[string]string{"urn:example:region": tc.outer}, map[string]string{"urn:example:region": tc.inner})
		if got != tc.want {
			t.Errorf("ConstraintsWithin(%q, %q) = %v, want %v", tc.outer, tc.inner, got, tc.want)
		}
	}
	if !ConstraintsWithin(nil, map[string]string{ConstraintKLE: "25"}) {
		t.Error("no outer constraint: anything is within")
	}
}
