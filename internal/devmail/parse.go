package devmail

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"unicode/utf8"
)

// maxDepth bounds the nesting of multipart bodies the parser follows.
const maxDepth = 8

var wordDecoder = mime.WordDecoder{}

// parse reads what it can of raw: headers (RFC 2047 words decoded) and the
// first text/plain and text/html parts (transfer encoding and Latin-1
// decoded). A message it cannot parse is kept with its raw text as the body.
func parse(raw []byte) Message {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{Subject: "(unparseable message)", Text: string(raw)}
	}
	m := Message{Headers: make(map[string][]string, len(msg.Header))}
	for k, vs := range msg.Header {
		for _, v := range vs {
			m.Headers[k] = append(m.Headers[k], decodeHeader(v))
		}
	}
	m.From = decodeHeader(msg.Header.Get("From"))
	m.Subject = decodeHeader(msg.Header.Get("Subject"))
	walk(&m, textproto.MIMEHeader(msg.Header), msg.Body, 0)
	return m
}

func decodeHeader(v string) string {
	d, err := wordDecoder.DecodeHeader(v)
	if err != nil {
		return v
	}
	return d
}

// walk finds the text parts of one body part, descending into multiparts.
func walk(m *Message, h textproto.MIMEHeader, body io.Reader, depth int) {
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain; charset=us-ascii"
	}
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil {
		mediaType, params = "text/plain", nil
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		if depth >= maxDepth || params["boundary"] == "" {
			return
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			// NextRawPart leaves Content-Transfer-Encoding to us, for every
			// encoding alike.
			p, err := mr.NextRawPart()
			if err != nil {
				return
			}
			walk(m, p.Header, p, depth+1)
		}
	}
	if disp, _, _ := mime.ParseMediaType(h.Get("Content-Disposition")); disp == "attachment" {
		return
	}
	switch {
	case mediaType == "text/plain" && m.Text == "":
		m.Text = readText(h, body, params["charset"])
	case mediaType == "text/html" && m.HTML == "":
		m.HTML = readText(h, body, params["charset"])
	}
}

func readText(h textproto.MIMEHeader, body io.Reader, charset string) string {
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body) // skips line breaks
	}
	b, err := io.ReadAll(io.LimitReader(body, 10<<20))
	if err != nil && len(b) == 0 {
		return "(undecodable part: " + err.Error() + ")"
	}
	switch strings.ToLower(charset) {
	case "iso-8859-1", "latin1", "windows-1252":
		if !utf8.Valid(b) {
			r := make([]rune, len(b))
			for i, c := range b {
				r[i] = rune(c)
			}
			return string(r)
		}
	}
	return string(b)
}
