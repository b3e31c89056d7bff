package portal

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/userimport"
	"github.com/erhverv/erhverv/web"
	"github.com/erhverv/erhverv/web/pages"
)

// Paths of importing and exporting users. An import's preview is
// ImportPath/<id>, confirmed by a POST to ImportPath/<id>/confirm.
const (
	ImportPath         = "/portal/users/import"
	ImportTemplatePath = "/portal/users/import/template.csv"
	UsersExportPath    = "/portal/users/export.csv"
)

// importBodyLimit is the most an upload may send: the file and the few
// hundred bytes of the form around it.
const importBodyLimit = userimport.MaxFileBytes + 64<<10

// importPageSize is how many rows the preview lists at a time.
const importPageSize = 50

func (p *Portal) mountImport(g *gin.RouterGroup) {
	g.GET(ImportPath, p.importForm)
	g.POST(ImportPath, p.importUpload)
	g.GET(ImportTemplatePath, p.importTemplate)
	g.GET(ImportPath+"/:id", p.importPreview)
	g.POST(ImportPath+"/:id/confirm", p.importConfirm)
	g.POST(ImportPath+"/:id/discard", p.importDiscard)
	g.GET(UsersExportPath, p.usersExport)
}

func (p *Portal) imports() *postgres.UserImports { return p.Users.Imports() }

// mayImport answers for a request about importing: the acting identity,
// when the policy allows it user.import (else a login, chooser or 403 page
// has been sent).
func (p *Portal) mayImport(c *gin.Context) (actor, bool) {
	act, ok := p.requireIdentity(c)
	if !ok || !p.authorize(c, act, authz.ActionUserImport, authz.Resource{Type: "user"}, authz.Context{}) {
		return actor{}, false
	}
	return act, true
}

func (p *Portal) importForm(c *gin.Context) {
	act, ok := p.mayImport(c)
	if !ok {
		return
	}
	render(c, http.StatusOK, pages.ImportForm(p.importFormView(c, act, "")))
}

func (p *Portal) importFormView(c *gin.Context, act actor, problem string) pages.ImportFormView {
	lang := p.lang(c)
	v := pages.ImportFormView{Frame: p.frame(c, act, web.T(lang, "import.title"), UsersPath), Error: problem,
		MaxMB: userimport.MaxFileBytes >> 20, ActionURL: ImportPath, TemplateURL: ImportTemplatePath}
	if p.may(c, act, authz.ActionUserExport, authz.Resource{Type: "user"}) {
		v.ExportURL = UsersExportPath
	}
	for _, col := range userimport.Columns {
		v.Columns = append(v.Columns, pages.ImportColumn{Heading: userimport.Heading(col, lang), Text: web.T(lang, "import.col."+col)})
	}
	return v
}

// importUpload reads the uploaded file as it arrives (never whole in
// memory or on disk), checks and stages it, and shows its preview.
func (p *Portal) importUpload(c *gin.Context) {
	act, ok := p.mayImport(c)
	if !ok {
		return
	}
	lang := p.lang(c)
	refuse := func(status int, err error) {
		render(c, status, pages.ImportForm(p.importFormView(c, act, importProblem(lang, err))))
	}
	if c.Request.ContentLength > importBodyLimit {
		refuse(http.StatusRequestEntityTooLarge, userimport.ErrTooLarge)
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, importBodyLimit)
	part, err := filePart(c.Request)
	if err != nil {
		if tooLarge(err) {
			refuse(http.StatusRequestEntityTooLarge, userimport.ErrTooLarge)
			return
		}
		refuse(http.StatusBadRequest, errNoFile)
		return
	}
	imp, err := p.imports().Stage(c.Request.Context(), postgres.StageRequest{OrgID: act.Org.ID, UploadedBy: act.User.ID,
		FileName: part.FileName(), File: part})
	switch {
	case err == nil:
		c.Redirect(http.StatusSeeOther, importURL(imp.ID))
	case tooLarge(err):
		refuse(http.StatusRequestEntityTooLarge, userimport.ErrTooLarge)
	case domain.ErrorCode(err) == domain.EINVALID:
		refuse(http.StatusBadRequest, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		refuse(http.StatusBadRequest, errUploadBroken) // the browser stopped sending
	default:
		p.internalError(c, err)
	}
}

var (
	errNoFile       = &userimport.FileError{Key: "no_file", Message: "Choose a CSV file to upload."}
	errUploadBroken = &userimport.FileError{Key: "upload_broken", Message: "The upload stopped before the whole file had arrived; upload it again."}
)

// filePart finds the form's file field, the first part with a file name.
func filePart(r *http.Request) (*multipart.Part, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, err
	}
	for {
		part, err := mr.NextPart()
		if err != nil {
			return nil, err
		}
		if part.FormName() == "file" && part.FileName() != "" {
			return part, nil
		}
	}
}

func tooLarge(err error) bool {
	var mb *http.MaxBytesError
	var fe *userimport.FileError
	return errors.As(err, &mb) || (errors.As(err, &fe) && fe.Key == userimport.ErrTooLarge.Key)
}

func importURL(id uuid.UUID) string { return ImportPath + "/" + id.String() }

// importProblem is a problem with a whole file in lang.
func importProblem(lang string, err error) string {
	var fe *userimport.FileError
	if errors.As(err, &fe) {
		if s := web.T(lang, "err.import."+fe.Key); s != "err.import."+fe.Key {
			return strings.ReplaceAll(s, "{arg}", fe.Arg)
		}
		return fe.Message
	}
	return translate(lang, asDomainError(err))
}

// rowProblem is a row's problem in lang: the import's own text for its key,
// else the user form's, else the English message; with the other row it
// points at.
func rowProblem(lang string, e userimport.RowError) string {
	msg := e.Message
	for _, key := range []string{"err.import." + e.Key, "err." + e.Key} {
		if s := web.T(lang, key); s != key {
			msg = s
			break
		}
	}
	if e.Row != 0 {
		msg += " " + strings.ReplaceAll(web.T(lang, "import.row_ref"), "{row}", strconv.Itoa(e.Row))
	}
	return msg
}

func (p *Portal) importTemplate(c *gin.Context) {
	if _, ok := p.mayImport(c); !ok {
		return
	}
	lang := p.lang(c)
	name := map[bool]string{true: "users-template.csv", false: "brugere-skabelon.csv"}[lang == web.LangEnglish]
	csvHeaders(c, name)
	if err := userimport.WriteTemplate(c.Writer, lang); err != nil {
		_ = c.Error(err)
	}
}

// loadImport finds the import in the URL, the acting identity's own; any
// other is a 404.
func (p *Portal) loadImport(c *gin.Context, act actor) (*userimport.Import, bool) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		p.renderError(c, http.StatusNotFound)
		return nil, false
	}
	imp, err := p.imports().FindImport(c.Request.Context(), act.Org.ID, act.User.ID, id)
	if err != nil {
		p.importNotFound(c, act, err)
		return nil, false
	}
	return imp, true
}

// importNotFound is the 404 page, saying that an import may have expired.
func (p *Portal) importNotFound(c *gin.Context, act actor, err error) {
	if domain.ErrorCode(err) != domain.ENOTFOUND {
		p.internalError(c, err)
		return
	}
	lang := p.lang(c)
	v := pages.NewErrorView(lang, http.StatusNotFound)
	v.UserName, v.OrgName = act.Account.Name, act.Org.Name
	v.Message = translate(lang, asDomainError(err))
	v.BackURL, v.BackLabel = ImportPath, web.T(lang, "import.back")
	render(c, http.StatusNotFound, pages.Error(v))
}

func (p *Portal) importPreview(c *gin.Context) {
	act, ok := p.mayImport(c)
	if !ok {
		return
	}
	imp, ok := p.loadImport(c, act)
	if !ok {
		return
	}
	p.renderPreview(c, act, imp, http.StatusOK, "")
}

// renderPreview shows an import: its summary and, a page at a time, the rows
// with problems (or the first rows when there are none).
func (p *Portal) renderPreview(c *gin.Context, act actor, imp *userimport.Import, status int, notice string) {
	lang := p.lang(c)
	page := 1
	if s := c.Query("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > userimport.MaxRows {
			p.renderError(c, http.StatusBadRequest)
			return
		}
		page = n
	}
	cn := imp.Counts
	v := pages.ImportPreviewView{Frame: p.frame(c, act, web.T(lang, "import.preview.title"), UsersPath), FileName: imp.FileName,
		Notice: notice, Applied: imp.Status == userimport.StatusApplied, WithErrors: cn.WithErrors, Changes: cn.Changes(),
		ExpiresAt: formatTime(imp.ExpiresAt, lang), ConfirmURL: importURL(imp.ID) + "/confirm",
		DiscardURL: importURL(imp.ID) + "/discard", NewURL: ImportPath, UsersURL: UsersPath}
	if imp.AppliedAt != nil {
		v.AppliedAt = formatTime(*imp.AppliedAt, lang)
	}
	for _, line := range []struct {
		key string
		n   int
	}{
		{"rows", cn.Rows}, {"creates", cn.Creates}, {"updates", cn.Updates - cn.Unchanged}, {"unchanged", cn.Unchanged},
		{"deactivations", cn.Deactivations}, {"deletions", cn.Deletions}, {"errors", cn.WithErrors},
	} {
		v.Counts = append(v.Counts, pages.ImportCount{Label: web.T(lang, "import.count."+line.key), N: line.n, TestID: "import-count-" + line.key})
	}
	if !v.Applied {
		v.ShowingErrors = cn.WithErrors > 0
		total, size := cn.WithErrors, importPageSize
		if !v.ShowingErrors {
			total, size, page = min(cn.Rows, 10), 10, 1
		}
		rows, err := p.imports().ImportRows(c.Request.Context(), act.Org.ID, act.User.ID, imp.ID, v.ShowingErrors, (page-1)*size, size)
		if err != nil {
			p.internalError(c, err)
			return
		}
		for _, r := range rows {
			v.Lines = append(v.Lines, importLine(lang, imp, r))
		}
		if v.ShowingErrors && total > size {
			from, to := (page-1)*size+1, min(page*size, total)
			v.PageText = strings.NewReplacer("{from}", strconv.Itoa(from), "{to}", strconv.Itoa(to), "{total}", strconv.Itoa(total)).
				Replace(web.T(lang, "import.page"))
			if page > 1 {
				v.PrevURL = importURL(imp.ID) + "?page=" + strconv.Itoa(page-1)
			}
			if to < total {
				v.NextURL = importURL(imp.ID) + "?page=" + strconv.Itoa(page+1)
			}
		}
	}
	render(c, status, pages.ImportPreview(v))
}

func importLine(lang string, imp *userimport.Import, r userimport.StagedRow) pages.ImportLine {
	action := r.Action
	if action == "" {
		action = "none"
	}
	l := pages.ImportLine{Line: r.Line, Action: web.T(lang, "import.action."+string(action)),
		Name: strings.TrimSpace(r.FirstName + " " + r.LastName), Email: r.Email}
	if l.Name == "" && r.UserID != uuid.Nil && r.Action != userimport.Create {
		l.Name = r.UserID.String()
	}
	for _, e := range r.Errors {
		col := ""
		if e.Column != "" {
			if col = imp.Heading(e.Column); col == "" {
				col = userimport.Heading(e.Column, lang)
			}
		}
		l.Problems = append(l.Problems, pages.ImportProblem{Column: col, Message: rowProblem(lang, e)})
	}
	return l
}

// importZone is Danish time, in which the import pages show times.
var importZone = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Copenhagen"); err == nil {
		return l
	}
	return time.UTC
}()

func formatTime(t time.Time, lang string) string {
	return domain.FormatDate(t, lang) + " " + t.In(importZone).Format("15:04")
}

func (p *Portal) importConfirm(c *gin.Context) {
	act, ok := p.mayImport(c)
	if !ok {
		return
	}
	imp, ok := p.loadImport(c, act)
	if !ok {
		return
	}
	_, err := p.imports().ApplyImport(c.Request.Context(), p.actorOf(c, act), act.Org.ID, imp.ID)
	if err == nil {
		c.Redirect(http.StatusSeeOther, importURL(imp.ID))
		return
	}
	lang := p.lang(c)
	switch domain.ErrorCode(err) {
	case domain.EINVALID, domain.ECONFLICT:
		// The preview again, with why, and the rows' problems as they are
		// now (a refused confirmation stores the new ones).
		if again, ferr := p.imports().FindImport(c.Request.Context(), act.Org.ID, act.User.ID, imp.ID); ferr == nil {
			imp = again
		}
		p.renderPreview(c, act, imp, StatusOf(err), translate(lang, asDomainError(err)))
	case domain.ENOTFOUND:
		p.importNotFound(c, act, err)
	default:
		p.internalError(c, err)
	}
}

func (p *Portal) importDiscard(c *gin.Context) {
	act, ok := p.mayImport(c)
	if !ok {
		return
	}
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		p.renderError(c, http.StatusNotFound)
		return
	}
	if err := p.imports().DiscardImport(c.Request.Context(), act.Org.ID, act.User.ID, id); err != nil {
		p.importNotFound(c, act, err)
		return
	}
	c.Redirect(http.StatusSeeOther, ImportPath)
}

// usersExport streams every living user of the organisation in the import
// format, and audits who exported how many.
func (p *Portal) usersExport(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok || !p.authorize(c, act, authz.ActionUserExport, authz.Resource{Type: "user"}, authz.Context{}) {
		return
	}
	lang := p.lang(c)
	name := map[bool]string{true: "users-", false: "brugere-"}[lang == web.LangEnglish] + act.Org.CVR + "-" +
		p.now().In(importZone).Format(time.DateOnly) + ".csv"
	csvHeaders(c, name)
	buf := exportBuffer(c)
	w, err := userimport.NewWriter(buf, lang)
	n := 0
	if err == nil {
		n, err = p.imports().ExportUsers(c.Request.Context(), act.Org.ID, func(r *userimport.Record) error { return w.Write(*r) })
	}
	if err == nil {
		if err = w.Flush(); err == nil {
			err = buf.Flush()
		}
	}
	// Who took personal data out is recorded even when the download broke.
	if aerr := p.auditExported(c, act, "users.exported", map[string]any{"users": n, "complete": err == nil}); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil {
		p.exportFailed(c, "user export", err)
	}
}
