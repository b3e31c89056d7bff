package portal

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/web"
	"github.com/erhverv/erhverv/web/pages"
)

// poaCatalogue is the catalogue by id, for naming privileges.
func (p *Portal) poaCatalogue(ctx context.Context) (map[uuid.UUID]*domain.Privilege, error) {
	privs, err := p.Rights.ListPrivileges(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]*domain.Privilege, len(privs))
	for _, pr := range privs {
		out[pr.ID] = pr
	}
	return out, nil
}

func poaPrivilegeName(pr *domain.Privilege, lang string) string {
	if lang == web.LangEnglish {
		return pr.NameEN
	}
	return pr.NameDA
}

func poaPrivilegeNames(x *postgres.PoAView, lang string) string {
	names := make([]string, len(x.Privileges))
	for i, pr := range x.Privileges {
		names[i] = poaPrivilegeName(pr.Privilege, lang)
	}
	return strings.Join(names, ", ")
}

// poaScopeChoices are org's scopes for a select: its whole CVR number, then
// its P-numbers and SE-numbers. A value is "kind:number".
func (p *Portal) poaScopeChoices(ctx context.Context, org *domain.Organisation, lang string) ([]pages.Choice, error) {
	out := []pages.Choice{{Value: domain.ScopeCVR + ":" + org.CVR, Label: poaScopeText(lang, domain.Scope{Kind: domain.ScopeCVR, Value: org.CVR})}}
	units, err := p.Orgs.ListProductionUnits(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	for _, u := range units {
		out = append(out, pages.Choice{Value: domain.ScopeP + ":" + u.PNumber,
			Label: poaScopeText(lang, domain.Scope{Kind: domain.ScopeP, Value: u.PNumber}) + " (" + u.Name + ")"})
	}
	ses, err := p.Orgs.ListSENumbers(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	for _, se := range ses {
		out = append(out, pages.Choice{Value: domain.ScopeSE + ":" + se.SENumber,
			Label: poaScopeText(lang, domain.Scope{Kind: domain.ScopeSE, Value: se.SENumber}) + " (" + se.Name + ")"})
	}
	return out, nil
}

func poaScopeText(lang string, s domain.Scope) string {
	switch s.Kind {
	case domain.ScopeCVR:
		return web.T(lang, "scope.cvr") + " " + s.Value
	case domain.ScopeP:
		return web.T(lang, "scope.p") + " " + s.Value
	case domain.ScopeSE:
		return web.T(lang, "scope.se") + " " + s.Value
	}
	return s.Value
}

// poaParseScope reads a "kind:number" scope from a select.
func poaParseScope(v string, errs *domain.ValidationErrors) domain.Scope {
	kind, value, ok := strings.Cut(strings.TrimSpace(v), ":")
	if !ok {
		errs.Add(domain.Invalid("scope", "scope.kind", "Choose the scope from the list."))
		return domain.Scope{}
	}
	return domain.Scope{Kind: kind, Value: value}
}

func poaConstraintLabel(lang, typ string) string {
	switch typ {
	case domain.ConstraintKLE:
		return web.T(lang, "constraint.kle")
	case domain.ConstraintPNumber:
		return web.T(lang, "constraint.pnumber")
	case domain.ConstraintSE:
		return web.T(lang, "constraint.se")
	case domain.ConstraintCVR:
		return web.T(lang, "constraint.cvr")
	}
	return typ
}

// poaConstraintsText writes constraint values as "label value", by type.
func poaConstraintsText(lang string, values map[string]string) string {
	types := make([]string, 0, len(values))
	for typ := range values {
		types = append(types, typ)
	}
	slices.Sort(types)
	parts := make([]string, len(types))
	for i, typ := range types {
		parts[i] = poaConstraintLabel(lang, typ) + " " + values[typ]
	}
	return strings.Join(parts, "; ")
}

// poaFormConstraints reads the non-empty form fields starting with prefix,
// by the rest of their name.
func poaFormConstraints(c *gin.Context, prefix string) map[string]string {
	out := map[string]string{}
	if c.Request.Method != http.MethodPost {
		return out
	}
	_ = c.Request.ParseForm() // gin has parsed it already for PostForm; errors show as missing fields
	for k, vs := range c.Request.PostForm {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok || len(vs) == 0 || strings.TrimSpace(vs[0]) == "" {
			continue
		}
		out[rest] = strings.TrimSpace(vs[0])
	}
	return out
}

func poaErrorFor(errs []pages.FieldError, field string) string {
	for _, e := range errs {
		if e.Field == field {
			return e.Message
		}
	}
	return ""
}

// poaParseDate reads an optional YYYY-MM-DD date in Danish time: a start
// is the beginning of the day, an end the end of it (the next day's start),
// so that a period "to 31 January" includes that day.
func poaParseDate(s, field string, end bool, errs *domain.ValidationErrors) *time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	d, err := time.ParseInLocation(time.DateOnly, s, domain.DanishTime)
	if err != nil {
		errs.Add(domain.Invalid(field, "poa.date_format", "Write the date as YYYY-MM-DD, e.g. 2027-01-31."))
		return nil
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	return &d
}

// poaPeriodText writes a period as the dates it covers.
func poaPeriodText(lang string, from, to *time.Time) string {
	switch {
	case from == nil && to == nil:
		return web.T(lang, "poa.period.open")
	case to == nil:
		return web.T(lang, "poa.period.from") + " " + domain.FormatDate(*from, lang)
	}
	last := domain.FormatDate(to.In(domain.DanishTime).Add(-time.Nanosecond), lang)
	if from == nil {
		return web.T(lang, "poa.period.until") + " " + last
	}
	return domain.FormatDate(*from, lang) + " – " + last
}

// poaStatusText is the status in words; an active power of attorney whose
// period has run out says so.
func poaStatusText(lang string, x *domain.PowerOfAttorney, now time.Time) string {
	if x.Status == domain.PoAActive && x.ValidTo != nil && !now.Before(*x.ValidTo) {
		return web.T(lang, "poa.status.lapsed")
	}
	return web.T(lang, "poa.status."+x.Status)
}
