package domain

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// Constraint types the platform knows the value format of. A privilege may
// declare other types (any URI); their values are free text.
const (
	ConstraintKLE     = "urn:dk:kombit:KLE"
	ConstraintPNumber = "urn:dk:gov:saml:productionUnitIdentifier"
	ConstraintSE      = "urn:dk:gov:saml:seNumberIdentifier"
	ConstraintCVR     = "urn:dk:gov:saml:cvrNumberIdentifier"
)

// KnownConstraintTypes lists the types with a checked format, for forms.
var KnownConstraintTypes = []string{ConstraintKLE, ConstraintPNumber, ConstraintSE, ConstraintCVR}

// A KLE value is a main group, group or subject number (25, 25.02, 25.02.01),
// optionally ending in .* for everything below it.
var klePattern = regexp.MustCompile(`^[0-9]{2}(\.[0-9]{2}){0,2}(\.\*)?$`)

// ValidateConstraintValue checks one value against its type's format.
func ValidateConstraintValue(typ, value string) error {
	field := "constraint:" + typ
	switch typ {
	case ConstraintKLE:
		if !klePattern.MatchString(value) || strings.Count(value, ".") > 2 && strings.HasSuffix(value, ".*") {
			return Invalid(field, "constraint.kle", fmt.Sprintf("%q is not a KLE number: write 25, 25.02 or 25.02.01, optionally ending in .* for everything below.", value))
		}
	case ConstraintPNumber:
		return ValidatePNumber(field, value)
	case ConstraintSE:
		return ValidateSENumber(field, value)
	case ConstraintCVR:
		return ValidateCVR(field, value)
	default:
		if n := len([]rune(value)); n < 1 || n > 200 || strings.IndexFunc(value, unicode.IsControl) >= 0 {
			return Invalid(field, "constraint.text", fmt.Sprintf("A value for %s has 1 to 200 characters and no line breaks.", typ))
		}
	}
	return nil
}

// ValidateConstraints checks constraint values against the types a privilege
// declares: only declared types, each value in its type's format. Empty
// values are not constraints and are refused; leave the type out instead.
func ValidateConstraints(declared []string, values map[string]string) error {
	var errs ValidationErrors
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, typ := range keys {
		if !slices.Contains(declared, typ) {
			errs = append(errs, Invalid("constraint:"+typ, "constraint.undeclared", fmt.Sprintf("The privilege has no constraint of type %s.", typ)))
			continue
		}
		errs.Add(ValidateConstraintValue(typ, values[typ]))
	}
	return errs.Err()
}

// ConstraintMatches reports whether a value acted on (25.02.01) falls within
// a granted value: equal, or below a KLE pattern ending in .* (25.*).
func ConstraintMatches(granted, value string) bool {
	if granted == value {
		return true
	}
	if prefix, ok := strings.CutSuffix(granted, "*"); ok {
		return strings.HasPrefix(value, prefix)
	}
	return false
}

// ConstraintsWithin reports whether inner constrains at least as much as
// outer: every type outer constrains is constrained by inner to a value
// within outer's. Passing on a power of attorney must stay within it.
func ConstraintsWithin(outer, inner map[string]string) bool {
	for typ, o := range outer {
		i, ok := inner[typ]
		if !ok || !constraintWithin(o, i) {
			return false
		}
	}
	return true
}

// constraintWithin reports whether every value inner matches, outer matches
// too. A pattern (ending in *) is within another pattern only when its prefix
// extends the other's, and never within a plain value: "Nord*" would match
// "Nordvest", which "Nord" does not.
func constraintWithin(outer, inner string) bool {
	innerPrefix, innerIsPattern := strings.CutSuffix(inner, "*")
	if !innerIsPattern {
		return ConstraintMatches(outer, inner)
	}
	outerPrefix, outerIsPattern := strings.CutSuffix(outer, "*")
	return outerIsPattern && strings.HasPrefix(innerPrefix, outerPrefix)
}
