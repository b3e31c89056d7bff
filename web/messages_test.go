package web

import (
	"maps"
	"slices"
	"testing"
)

func TestMessagesCatalogueComplete(t *testing.T) {
	t.Parallel()
	for lang, msgs := range messages {
		for other, otherMsgs := range messages {
			for key := range msgs {
				if _, ok := otherMsgs[key]; !ok {
					t.Errorf("key %q: in %q, missing in %q", key, lang, other)
				}
			}
		}
		for key, text := range msgs {
			if text == "" {
				t.Errorf("key %q in %q: got empty text, want some", key, lang)
			}
		}
	}
	if got, want := slices.Sorted(maps.Keys(messages)), []string{LangDanish, LangEnglish}; !slices.Equal(got, want) {
		t.Errorf("languages: got %v, want %v", got, want)
	}
}

func TestT(t *testing.T) {
	t.Parallel()
	tests := []struct {
		lang, key, want string
	}{
		{"da", "header.login", "Log ind"},
		{"en", "header.login", "Log in"},
		{"en-GB", "header.login", "Log in"},
		{"", "header.login", "Log ind"},
		{"de", "header.login", "Log ind"},
		{"da", "no.such.key", "no.such.key"},
	}
	for _, tt := range tests {
		if got := T(tt.lang, tt.key); got != tt.want {
			t.Errorf("T(%q, %q): got %q, want %q", tt.lang, tt.key, got, tt.want)
		}
	}
}

func TestNormalizeLang(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"da", "da"}, {"da-DK", "da"}, {"en", "en"}, {"EN-us", "en"}, {" en ", "en"},
		{"", "da"}, {"de", "da"}, {"english", "da"},
	}
	for _, tt := range tests {
		if got := NormalizeLang(tt.in); got != tt.want {
			t.Errorf("NormalizeLang(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}
