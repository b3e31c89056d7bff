package portal

import (
	"bufio"
	"context"
	"encoding/csv"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/server"
)

// The portal's downloads (users, who has what, the audit log) are streamed:
// a file of 100,000 rows never sits in memory. The helpers here are what
// they share.

// csvHeaders marks the response as a CSV file to save as filename.
func csvHeaders(c *gin.Context, filename string) {
	h := c.Writer.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	h.Set("Cache-Control", "no-store")
}

// exportBuffer holds back the first 4 KiB of a download, so a query that
// fails at once still gets a proper error page (see exportFailed).
func exportBuffer(c *gin.Context) *bufio.Writer { return bufio.NewWriterSize(c.Writer, 4096) }

// csvDownload writes a CSV file for Danish Excel: UTF-8 with a byte order
// mark, semicolons, CRLF, and cells safe from formula injection.
type csvDownload struct {
	buf *bufio.Writer
	w   *csv.Writer
}

// startCSV sends the headers of a CSV download named filename and writes
// its byte order mark and column names.
func startCSV(c *gin.Context, filename string, columns []string) *csvDownload {
	csvHeaders(c, filename)
	d := &csvDownload{buf: exportBuffer(c)}
	_, _ = d.buf.WriteString("\ufeff")
	d.w = csv.NewWriter(d.buf)
	d.w.Comma, d.w.UseCRLF = ';', true
	_ = d.w.Write(columns)
	return d
}

// Write writes one row.
func (d *csvDownload) Write(cells ...string) error { return d.w.Write(csvCells(cells...)) }

// Close flushes what is buffered; its error means the file is incomplete.
func (d *csvDownload) Close() error {
	d.w.Flush()
	if err := d.w.Error(); err != nil {
		return err
	}
	return d.buf.Flush()
}

// csvCells neutralises cells a spreadsheet would read as a formula (those
// starting with =, +, -, @, a tab or a carriage return) by prefixing a '.
func csvCells(cells ...string) []string {
	for i, s := range cells {
		if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
			cells[i] = "'" + s
		}
	}
	return cells
}

// auditExported records who took data out of the organisation, and how
// much: even when the download broke, so it runs without the request's
// cancellation.
func (p *Portal) auditExported(c *gin.Context, act actor, action string, details map[string]any) error {
	actor := p.actorOf(c, act)
	orgID := act.Org.ID
	if actor.Address != "" {
		details["address"] = actor.Address
	}
	return p.Audit.AppendAudit(context.WithoutCancel(c.Request.Context()), &domain.AuditEvent{OrgID: &orgID, ActorID: &actor.UserID,
		ActorLabel: actor.Label, Action: action, TargetType: "organisation", TargetID: orgID.String(), RequestID: actor.RequestID,
		Details: mustJSON(details)})
}

// exportFailed ends a download that failed with err. Before anything was
// sent it is an error page; once the file has begun, the connection is
// cut, so the client sees a failed download rather than a file that looks
// whole. what names the download in the log.
func (p *Portal) exportFailed(c *gin.Context, what string, err error) {
	if !c.Writer.Written() {
		c.Writer.Header().Del("Content-Disposition")
		p.internalError(c, err)
		return
	}
	level := slog.LevelError
	if c.Request.Context().Err() != nil {
		level = slog.LevelWarn // the client went away
	}
	p.log.LogAttrs(c.Request.Context(), level, what+" cut short", slog.String("request_id", server.RequestID(c)),
		slog.String("error", err.Error()))
	panic(http.ErrAbortHandler)
}
