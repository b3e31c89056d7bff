package bpp

import (
	"encoding/base64"
	"strings"
)

// EncodeClaim returns the value of the privilegesIntermediate claim for a
// document: standard base64 of Marshal's output.
func EncodeClaim(doc Document) (string, error) {
	b, err := Marshal(doc)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// DecodeClaim reads a privilegesIntermediate claim value. It tolerates line
// breaks and missing padding, which some issuers produce, and refuses a value
// that would decode to more than MaxSize before decoding it.
func DecodeClaim(s string) (Document, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
	if len(s) > base64.StdEncoding.EncodedLen(MaxSize) {
		return Document{}, invalid("larger than %d bytes", MaxSize)
	}
	enc := base64.StdEncoding
	if len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return Document{}, invalid("the claim is not base64 (%v)", err)
	}
	return Parse(b)
}
