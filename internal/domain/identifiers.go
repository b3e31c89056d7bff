package domain

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// NormalizeDigits removes the spaces and dashes people type inside numbers
// ("1234 5678", "010190-1234").
func NormalizeDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\u00a0' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

var cvrWeights = [8]int{2, 7, 6, 5, 4, 3, 2, 1}

// ValidateCVR checks a CVR number: eight digits whose weighted sum (weights
// 2,7,6,5,4,3,2,1) is divisible by 11. field names the input in the error.
func ValidateCVR(field, cvr string) error {
	if len(cvr) != 8 || !allDigits(cvr) {
		return Invalid(field, "cvr.format", fmt.Sprintf("A CVR number has 8 digits; %q does not.", cvr))
	}
	if !CVRChecksumOK(cvr) {
		return Invalid(field, "cvr.checksum", fmt.Sprintf("CVR number %s has a wrong check digit; check it against the CVR register.", cvr))
	}
	return nil
}

// CVRChecksumOK reports whether an 8-digit string passes the modulus 11 check.
func CVRChecksumOK(cvr string) bool {
	if len(cvr) != 8 || !allDigits(cvr) {
		return false
	}
	sum := 0
	for i := 0; i < 8; i++ {
		sum += int(cvr[i]-'0') * cvrWeights[i]
	}
	return sum%11 == 0
}

// ValidatePNumber checks a production unit number (P-number): 10 digits.
func ValidatePNumber(field, p string) error {
	if len(p) != 10 || !allDigits(p) {
		return Invalid(field, "pnumber.format", fmt.Sprintf("A P-number has 10 digits; %q does not.", p))
	}
	return nil
}

// ValidateSENumber checks an SE-number: 8 digits.
func ValidateSENumber(field, se string) error {
	if len(se) != 8 || !allDigits(se) {
		return Invalid(field, "senumber.format", fmt.Sprintf("An SE-number has 8 digits; %q does not.", se))
	}
	return nil
}

// CPRBirthDate checks a CPR number (DDMMYYSSSS, 10 digits, the first six a
// real date) and returns the birth date it encodes. The century follows the
// CPR office's rule from the 7th digit and the year. The message never
// repeats the number: a CPR number must not travel into logs through errors.
func CPRBirthDate(field, cpr string) (time.Time, error) {
	if len(cpr) != 10 || !allDigits(cpr) {
		return time.Time{}, Invalid(field, "cpr.format", "A CPR number has 10 digits (DDMMYY-SSSS).")
	}
	day := atoi2(cpr[0:2])
	month := atoi2(cpr[2:4])
	yy := atoi2(cpr[4:6])
	year := cprCentury(int(cpr[6]-'0'), yy) + yy
	d := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if month < 1 || month > 12 || day < 1 || d.Day() != day || int(d.Month()) != month {
		return time.Time{}, Invalid(field, "cpr.date", "The first six digits of a CPR number must be a real date (DDMMYY).")
	}
	return d, nil
}

// cprCentury maps the 7th digit and the two-digit year to a century, by the
// CPR office's table.
func cprCentury(digit7, yy int) int {
	switch {
	case digit7 <= 3:
		return 1900
	case digit7 == 4 || digit7 == 9:
		if yy <= 36 {
			return 2000
		}
		return 1900
	default: // 5–8
		if yy <= 57 {
			return 2000
		}
		return 1800
	}
}

func atoi2(s string) int { return int(s[0]-'0')*10 + int(s[1]-'0') }

// ValidateEmail checks that s is one plain address (no display name).
func ValidateEmail(field, s string) error {
	if len(s) > 254 {
		return Invalid(field, "email.length", "An email address has at most 254 characters.")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return Invalid(field, "email.format", fmt.Sprintf("%q is not an email address; write it as name@example.dk.", s))
	}
	return nil
}

// ValidatePhone accepts an optional leading + and 8 to 15 digits, after
// spaces and dashes are removed.
func ValidatePhone(field, s string) error {
	d := strings.TrimPrefix(s, "+")
	if len(d) < 8 || len(d) > 15 || !allDigits(d) {
		return Invalid(field, "phone.format", "A phone number has 8 to 15 digits, optionally starting with +.")
	}
	return nil
}
