package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// simForm is the simulator's login form as a person would submit it.
type simForm struct {
	action string
	values url.Values
}

// pageForm is what a form on the login page offers.
type pageForm struct {
	method, action string
	hidden         url.Values
	authenticators map[string]choice // by value
	subjects       map[string]choice // the "log in" buttons, by subject
}

// choice is an option or a button: whether it is disabled and why.
type choice struct {
	disabled bool
	title    string
}

// parseSimLoginPage reads the simulator's login page at pageURL and fills
// its login form as a person picking subject and the authenticator would:
// the form's hidden fields, the authenticator from its list, and the
// subject's "log in" button. An identity or authenticator the page does
// not offer, or offers disabled (below the level asked for), is an error,
// as is a page that shows the simulator's error message.
//
// The page is read with a streaming tokenizer, not into a document tree:
// the generator parses one page a login, on the cores the platform uses.
func parseSimLoginPage(page []byte, pageURL *url.URL, subject, authenticator string) (simForm, error) {
	forms, pageErr, err := scanLoginPage(page)
	if err != nil {
		return simForm{}, fmt.Errorf("parse the login page: %w", err)
	}
	if pageErr != "" {
		return simForm{}, fmt.Errorf("the login page says %q", pageErr)
	}
	var form *pageForm
	for _, f := range forms {
		if strings.EqualFold(f.method, "post") && len(f.subjects) > 0 {
			form = f
			break
		}
	}
	if form == nil {
		return simForm{}, errors.New("no login form on the page")
	}
	action, err := pageURL.Parse(form.action)
	if err != nil {
		return simForm{}, fmt.Errorf("the login form's action: %w", err)
	}
	if form.hidden.Get("id") == "" {
		return simForm{}, errors.New("the login form has no request id")
	}
	switch a, ok := form.authenticators[authenticator]; {
	case !ok:
		return simForm{}, fmt.Errorf("the page offers no authenticator %q", authenticator)
	case a.disabled:
		return simForm{}, fmt.Errorf("authenticator %q is below the level asked for", authenticator)
	}
	switch b, ok := form.subjects[subject]; {
	case !ok:
		return simForm{}, fmt.Errorf("the page offers no identity %q", subject)
	case b.disabled:
		return simForm{}, fmt.Errorf("identity %q cannot log in here: %s", subject, b.title)
	}
	v := form.hidden
	v.Set("authenticator", authenticator)
	v.Set("subject", subject)
	return simForm{action: action.String(), values: v}, nil
}

// scanLoginPage collects the page's forms and its error message (the
// element marked data-testid="login-error").
func scanLoginPage(page []byte) (forms []*pageForm, pageErr string, err error) {
	z := html.NewTokenizer(bytes.NewReader(page))
	var cur *pageForm
	var inSelect, inError bool
	var msg strings.Builder
	for {
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() == io.EOF {
				return forms, strings.TrimSpace(msg.String()), nil
			}
			return nil, "", z.Err()
		case html.TextToken:
			if inError {
				msg.Write(z.Text())
			}
		case html.EndTagToken:
			inError = false
			switch name, _ := z.TagName(); string(name) {
			case "form":
				cur = nil
			case "select":
				inSelect = false
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, more := z.TagName()
			attrs := map[string]string{}
			for more {
				var k, v []byte
				k, v, more = z.TagAttr()
				attrs[string(k)] = string(v)
			}
			if attrs["data-testid"] == "login-error" {
				inError = true
			}
			_, disabled := attrs["disabled"]
			switch string(name) {
			case "form":
				cur = &pageForm{method: attrs["method"], action: attrs["action"], hidden: url.Values{},
					authenticators: map[string]choice{}, subjects: map[string]choice{}}
				forms = append(forms, cur)
			case "input":
				if cur != nil && strings.EqualFold(attrs["type"], "hidden") && attrs["name"] != "" {
					cur.hidden.Set(attrs["name"], attrs["value"])
				}
			case "select":
				inSelect = cur != nil && attrs["name"] == "authenticator"
			case "option":
				if inSelect {
					cur.authenticators[attrs["value"]] = choice{disabled: disabled}
				}
			case "button":
				if cur != nil && attrs["name"] == "subject" {
					cur.subjects[attrs["value"]] = choice{disabled: disabled, title: attrs["title"]}
				}
			}
		}
	}
}
