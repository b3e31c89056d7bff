package api

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/web"
	"github.com/erhverv/erhverv/web/layout"
	"github.com/erhverv/erhverv/web/pages"
)

// ReferencePath is the API reference page: public, in the portal's look,
// rendered on the server from the OpenAPI document. Problem documents'
// type URIs point at its #problem-<code> sections.
const ReferencePath = "/api/reference"

// langCookie is the portal's remembered language, which the reference
// page follows (it reads the cookie; only the portal sets it).
const referenceLangCookie = "erhverv_lang"

// problemCodes are the problem codes the API answers with, in the order the
// reference explains them, each with its status.
var problemCodes = []struct {
	code   string
	status int
}{
	{domain.EINVALID, http.StatusBadRequest},
	{domain.EUNAUTHENTICATED, http.StatusUnauthorized},
	{domain.EFORBIDDEN, http.StatusForbidden},
	{domain.ENOTFOUND, http.StatusNotFound},
	{domain.ECONFLICT, http.StatusConflict},
	{CodePreconditionFailed, http.StatusPreconditionFailed},
	{CodeIdempotencyReused, http.StatusUnprocessableEntity},
	{CodeIdempotencyInUse, http.StatusConflict},
	{CodeRateLimited, http.StatusTooManyRequests},
	{CodeTooLarge, http.StatusRequestEntityTooLarge},
	{CodeUnsupportedMediaType, http.StatusUnsupportedMediaType},
	{domain.EINTERNAL, http.StatusInternalServerError},
}

// reference renders the reference page once per language: the document
// is fixed when the binary is built.
type reference struct {
	baseURL string
	doc     map[string]any
	docErr  error

	mu    sync.Mutex
	pages map[string][]byte
}

// mountReference adds the API reference page. It needs no login.
func (a *API) mountReference(r *gin.Engine) {
	ref := &reference{baseURL: strings.TrimSuffix(a.opts.BaseURL.String(), "/"), pages: map[string][]byte{}}
	ref.doc, ref.docErr = Document()
	handle := func(c *gin.Context) {
		lang := referenceLang(c)
		page, err := ref.page(c.Request.Context(), lang)
		if err != nil {
			a.log.Error("render the API reference", "error", err.Error())
			c.String(http.StatusInternalServerError, http.StatusText(http.StatusInternalServerError))
			return
		}
		c.Header("Cache-Control", "public, max-age=300")
		c.Header("Vary", "Cookie")
		c.Data(http.StatusOK, "text/html; charset=utf-8", page)
	}
	r.GET(ReferencePath, handle)
	r.HEAD(ReferencePath, handle)
}

// referenceLang is ?lang= when given, else the portal's remembered
// language, else Danish.
func referenceLang(c *gin.Context) string {
	if q := c.Query("lang"); q != "" {
		return web.NormalizeLang(q)
	}
	if v, err := c.Cookie(referenceLangCookie); err == nil {
		return web.NormalizeLang(v)
	}
	return web.LangDanish
}

// page is the rendered page in lang, rendered on first use.
func (ref *reference) page(ctx context.Context, lang string) ([]byte, error) {
	if ref.docErr != nil {
		return nil, ref.docErr
	}
	ref.mu.Lock()
	defer ref.mu.Unlock()
	if b, ok := ref.pages[lang]; ok {
		return b, nil
	}
	var buf bytes.Buffer
	if err := pages.APIReference(referenceView(ref.doc, ref.baseURL, lang)).Render(ctx, &buf); err != nil {
		return nil, err
	}
	ref.pages[lang] = buf.Bytes()
	return ref.pages[lang], nil
}

// referenceView is the page's view model: the guide's facts, the scopes,
// the problem codes and the document's operations grouped by tag. baseURL
// is the platform's public address, without a trailing slash.
func referenceView(doc map[string]any, baseURL, lang string) pages.APIReferenceView {
	d := refDoc{root: doc}
	info := refObject(doc["info"])
	v := pages.APIReferenceView{
		Frame:       layout.PageProps{Lang: lang, Title: web.T(lang, "apiref.title")},
		Title:       refString(info["title"]),
		Version:     refString(info["version"]),
		Description: refString(info["summary"]),
		ServerURL:   baseURL + d.serverPath(),
		TokenURL:    baseURL + TokenPath,
		JWKSURL:     baseURL + JWKSPath,
		OpenAPIURL:  "/api/v1/openapi.json",
		Tags:        d.tags(lang),
	}
	if v.Title == "" {
		v.Title = web.T(lang, "apiref.title")
	}
	for _, s := range domain.APIScopes {
		v.Scopes = append(v.Scopes, pages.ScopeChoice{Value: s, Explanation: web.T(lang, "apiclients.scope."+strings.ReplaceAll(s, ":", "_"))})
	}
	for _, p := range problemCodes {
		v.Problems = append(v.Problems, pages.APIProblem{Code: p.code, Status: strconv.Itoa(p.status), Title: problemTitles[p.code],
			Meaning: web.T(lang, "apiref.problem."+p.code+".meaning"), Action: web.T(lang, "apiref.problem."+p.code+".action")})
	}
	return v
}
