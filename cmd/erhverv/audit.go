package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

// audit runs the audit log's commands. "audit verify" recomputes the hash
// chains (every organisation's and the platform's, or one organisation's)
// and fails when any is broken, so it can run from cron or a monitor.
func (m *Main) audit(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "verify" {
		return usageError("audit needs a command: verify [--org CVR]")
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by exitCode
	org := fs.String("org", "", "verify only the chain of the organisation with this CVR number")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError("audit verify: " + err.Error())
	}
	if fs.NArg() > 0 {
		return usageError("audit verify takes no arguments, got " + strings.Join(fs.Args(), " "))
	}
	if *org != "" {
		if err := domain.ValidateCVR("org", *org); err != nil {
			return usageError("--org: " + domain.ErrorMessage(err))
		}
	}
	db, err := m.openDB(ctx, false)
	if err != nil {
		return err
	}
	defer db.Close()
	log := postgres.NewAuditLog(db)
	var chains []postgres.AuditChain
	if *org != "" {
		o, err := postgres.NewOrganisationService(db).FindOrganisationByCVR(ctx, *org)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return fmt.Errorf("no organisation has CVR %s", *org)
		}
		if err != nil {
			return err
		}
		chains = []postgres.AuditChain{{OrgID: &o.ID, CVR: o.CVR, OrgName: o.Name}}
	} else if chains, err = log.AuditChains(ctx); err != nil {
		return err
	}
	if len(chains) == 0 {
		fmt.Fprintln(m.Stdout, "no audit events yet")
		return nil
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 0, 2, ' ', 0)
	broken := 0
	for _, c := range chains {
		v, err := log.VerifyAudit(ctx, c.OrgID)
		if err != nil {
			tw.Flush()
			return fmt.Errorf("verify %s: %w", chainLabel(c), err)
		}
		status := "OK"
		if !v.OK {
			status = fmt.Sprintf("BROKEN at seq %d", v.BrokenAt)
			broken++
		}
		noun := "events"
		if v.Events == 1 {
			noun = "event"
		}
		fmt.Fprintf(tw, "%s\t%d %s\t%s\n", chainLabel(c), v.Events, noun, status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if broken > 0 {
		return fmt.Errorf("%d of %d audit chains are broken", broken, len(chains))
	}
	return nil
}

// chainLabel names a chain for people: "CVR name", or "platform".
func chainLabel(c postgres.AuditChain) string {
	switch {
	case c.OrgID == nil:
		return "platform"
	case c.CVR == "":
		return c.OrgID.String()
	}
	return c.CVR + " " + c.OrgName
}
