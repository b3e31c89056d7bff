// Package seed creates the demo data that `erhverv seed demo` and `make run`
// load: a customer organisation with employees in every status and
// administrators of every role, a service provider with IT systems and
// privileges, and an accounting firm whose people also work for the
// customer. Every row has a fixed id derived from its name, so running the
// seed again finds everything in place and changes nothing.
package seed

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

// BrokerIssuer is the issuer the demo's person links point at: the MitID
// simulator at its default address.
const BrokerIssuer = "http://127.0.0.1:8090"

// namespace makes the demo's ids; changing it would duplicate the demo data.
var namespace = uuid.MustParse("5f0c7b1e-6d0a-4c39-9c55-3f1f4f0e2d10")

// ID returns the fixed id of a demo object.
func ID(name string) uuid.UUID { return uuid.NewSHA1(namespace, []byte(name)) }

// Demo organisations (fictitious CVR numbers starting with 9, valid by
// modulus 11, as test organisations in the reference system have).
const (
	CVRNordlys   = "91234564" // the customer
	CVRSkattefar = "93847261" // the service provider
	CVRHavbryg   = "95001238" // the accounting firm
)

// Person is one demo person: their login at the simulator (subject) and the
// business identities they hold.
type Person struct {
	Subject string
	Name    string
	CPR     string
	Roles   []string // what they can show off, for the printed guide
}

type demoUser struct {
	key, org, first, last, email, cpr, status, unit string
	birth                                           string // for users without CPR
	subject                                         string // broker subject when linked
	anonymous                                       bool
	roles                                           []demoRole
}

type demoRole struct {
	role, unit string
	from, to   time.Duration // relative to now; 0 means no bound
}

type seeder struct {
	ctx     context.Context
	db      *postgres.DB
	issuer  string // the broker the person links point at
	orgs    *postgres.OrganisationService
	users   *postgres.UserService
	roles   *postgres.AdminRoleService
	groups  *postgres.GroupService
	rights  *postgres.RightsService
	audit   *postgres.AuditLog
	created int
	now     time.Time
}

// Demo loads the demo data and returns a short guide to it.
//
// brokerIssuer is the issuer the demo people's person links point at: the
// configured broker (ERHVERV_BROKER_ISSUER), or BrokerIssuer when empty.
func Demo(ctx context.Context, db *postgres.DB, brokerIssuer string) (string, error) {
	if brokerIssuer == "" {
		brokerIssuer = BrokerIssuer
	}
	s := &seeder{ctx: ctx, db: db, issuer: brokerIssuer, orgs: postgres.NewOrganisationService(db), users: postgres.NewUserService(db),
		roles: postgres.NewAdminRoleService(db), groups: postgres.NewGroupService(db), rights: postgres.NewRightsService(db),
		audit: postgres.NewAuditLog(db), now: time.Now().UTC().Truncate(24 * time.Hour)}
	steps := []func() error{s.organisations, s.people, s.catalogue, s.groupsAndAssignments, s.powersOfAttorney}
	for _, step := range steps {
		if err := step(); err != nil {
			return "", err
		}
	}
	return s.guide(), nil
}

// ignoreExisting treats "already there" as success: the seed is idempotent.
func ignoreExisting(err error) (created bool, _ error) {
	if err == nil {
		return true, nil
	}
	if domain.ErrorCode(err) == domain.ECONFLICT {
		return false, nil
	}
	return false, err
}

func (s *seeder) note(created bool) {
	if created {
		s.created++
	}
}

func (s *seeder) organisations() error {
	connected := s.now.AddDate(0, -6, 0)
	orgs := []domain.Organisation{
		{CVR: CVRNordlys, Name: "Nordlys Rådgivning ApS", Settings: domain.OrgSettings{AllowPrivateMitID: true, MandatoryUserFields: []string{"phone"}, NotificationEmail: "it@nordlys.example.dk", NotifyOnRequests: true}},
		{CVR: CVRSkattefar, Name: "Skattefar Digital A/S", IsServiceProvider: true, Settings: domain.OrgSettings{NotificationEmail: "drift@skattefar.example.dk", NotifyOnRequests: true}},
		{CVR: CVRHavbryg, Name: "Havbryg Revision I/S", Settings: domain.OrgSettings{AllowPrivateMitID: true, NotifyOnRequests: true}},
	}
	for i := range orgs {
		o := &orgs[i]
		o.ID, o.Status, o.ConnectedAt = ID("org:"+o.CVR), domain.OrgActive, &connected
		created, err := ignoreExisting(s.orgs.CreateOrganisation(s.ctx, o))
		if err != nil {
			return fmt.Errorf("organisation %s: %w", o.CVR, err)
		}
		s.note(created)
		if created {
			details, _ := json.Marshal(map[string]string{"cvr": o.CVR, "name": o.Name})
			if err := s.audit.AppendAudit(s.ctx, &domain.AuditEvent{OrgID: &o.ID, ActorLabel: "seed", Action: "org.connect",
				TargetType: "organisation", TargetID: o.ID.String(), Details: details}); err != nil {
				return err
			}
		}
	}
	units := []domain.ProductionUnit{
		{OrgID: ID("org:" + CVRNordlys), PNumber: "1012345671", Name: "Nordlys København", Address: "Strandgade 12, 1401 København K"},
		{OrgID: ID("org:" + CVRNordlys), PNumber: "1012345672", Name: "Nordlys Aarhus", Address: "Åboulevarden 40, 8000 Aarhus C"},
		{OrgID: ID("org:" + CVRSkattefar), PNumber: "1023456781", Name: "Skattefar Odense", Address: "Vestergade 5, 5000 Odense C"},
		{OrgID: ID("org:" + CVRHavbryg), PNumber: "1034567891", Name: "Havbryg Esbjerg", Address: "Havnegade 2, 6700 Esbjerg"},
	}
	for i := range units {
		u := &units[i]
		u.ID = ID("unit:" + u.PNumber)
		created, err := ignoreExisting(s.orgs.CreateProductionUnit(s.ctx, u))
		if err != nil {
			return fmt.Errorf("production unit %s: %w", u.PNumber, err)
		}
		s.note(created)
	}
	se := &domain.SENumber{ID: ID("se:31234567"), OrgID: ID("org:" + CVRNordlys), SENumber: "31234567", Name: "Nordlys løn"}
	created, err := ignoreExisting(s.orgs.CreateSENumber(s.ctx, se))
	s.note(created)
	return err
}

// demoUsers are the employees; subjects are the simulator's test persons.
var demoUsers = []demoUser{
	{key: "mette", org: CVRNordlys, first: "Mette", last: "Nordlys", email: "mette@nordlys.example.dk", cpr: "0505751234", status: domain.UserActive, subject: "demo-mette",
		roles: []demoRole{{role: domain.RoleOrgAdmin}}},
	{key: "jonas", org: CVRNordlys, first: "Jonas", last: "Berg", email: "jonas@nordlys.example.dk", cpr: "1211821235", status: domain.UserActive, subject: "demo-jonas",
		roles: []demoRole{{role: domain.RoleUserAdmin}}},
	{key: "sofie", org: CVRNordlys, first: "Sofie", last: "Dam", email: "sofie@nordlys.example.dk", cpr: "2302901236", status: domain.UserActive, subject: "demo-sofie",
		roles: []demoRole{{role: domain.RoleRightsAdmin}}},
	{key: "peter", org: CVRNordlys, first: "Peter", last: "Holm", email: "peter@nordlys.example.dk", cpr: "0707691237", status: domain.UserActive, subject: "demo-peter", unit: "1012345672",
		roles: []demoRole{{role: domain.RoleUserAdmin, unit: "1012345672"}}},
	{key: "rasmus", org: CVRNordlys, first: "Rasmus", last: "Kjær", email: "rasmus@nordlys.example.dk", cpr: "1010881238", status: domain.UserActive, subject: "demo-rasmus",
		roles: []demoRole{{role: domain.RoleOrgAdmin, from: -90 * 24 * time.Hour, to: -30 * 24 * time.Hour}, {role: domain.RoleRightsAdmin, to: 60 * 24 * time.Hour}}},
	{key: "lars", org: CVRNordlys, first: "Lars", last: "Vinther", email: "lars@nordlys.example.dk", cpr: "1503851239", status: domain.UserActive, subject: "demo-lars"},
	{key: "freja", org: CVRNordlys, first: "Freja", last: "Lind", email: "freja@nordlys.example.dk", cpr: "2104921240", status: domain.UserActive, subject: "demo-freja", anonymous: true},
	{key: "emma", org: CVRNordlys, first: "Emma", last: "Krogh", email: "emma@nordlys.example.dk", cpr: "0309951241", status: domain.UserPending},
	{key: "ahmed", org: CVRNordlys, first: "Ahmed", last: "Nasser", email: "ahmed@nordlys.example.dk", birth: "1991-06-14", status: domain.UserPending},
	{key: "karen", org: CVRNordlys, first: "Karen", last: "Lund", email: "karen@nordlys.example.dk", cpr: "1712701242", status: domain.UserDeactivated, subject: "demo-karen"},
	{key: "ole", org: CVRNordlys, first: "Ole", last: "Sand", email: "ole@nordlys.example.dk", cpr: "0101661243", status: domain.UserDeleted},
	{key: "henrik", org: CVRSkattefar, first: "Henrik", last: "Skat", email: "henrik@skattefar.example.dk", cpr: "0606801244", status: domain.UserActive, subject: "demo-henrik",
		roles: []demoRole{{role: domain.RoleOrgAdmin}}},
	{key: "mette-havbryg", org: CVRHavbryg, first: "Mette", last: "Nordlys", email: "mette@havbryg.example.dk", cpr: "0505751234", status: domain.UserActive, subject: "demo-mette",
		roles: []demoRole{{role: domain.RoleOrgAdmin}}},
	{key: "anders", org: CVRHavbryg, first: "Anders", last: "Revsbech", email: "anders@havbryg.example.dk", cpr: "1908781245", status: domain.UserActive, subject: "demo-anders",
		roles: []demoRole{{role: domain.RoleOrgAdmin}}},
}

func (s *seeder) people() error {
	for _, d := range demoUsers {
		org := ID("org:" + d.org)
		u := &domain.User{ID: ID("user:" + d.key), OrgID: org, FirstName: d.first, LastName: d.last, Email: d.email, CPR: d.cpr,
			Anonymous: d.anonymous, Status: d.status}
		if d.status == domain.UserDeleted {
			u.Status = domain.UserActive // created, then deleted below
		}
		if d.birth != "" {
			u.BirthDate, _ = time.Parse(time.DateOnly, d.birth)
		}
		if d.unit != "" {
			unit := ID("unit:" + d.unit)
			u.ProductionUnitID = &unit
		}
		if d.org == CVRNordlys && d.status != domain.UserDeleted {
			u.Phone = "+4520" + fmt.Sprintf("%06d", int(ID(d.key)[0])*1000+int(ID(d.key)[1]))
		}
		created, err := ignoreExisting(s.users.CreateUser(s.ctx, u))
		if err != nil {
			return fmt.Errorf("user %s: %w", d.key, err)
		}
		s.note(created)
		if created && d.status == domain.UserDeleted {
			if err := s.users.SetUserStatus(s.ctx, org, u.ID, u.Version, domain.UserDeleted); err != nil {
				return fmt.Errorf("delete user %s: %w", d.key, err)
			}
		}
		if d.subject != "" {
			created, err := ignoreExisting(s.users.LinkPerson(s.ctx, &domain.PersonLink{ID: ID("link:" + d.key), OrgID: org, UserID: u.ID,
				BrokerIssuer: s.issuer, BrokerSubject: d.subject}))
			if err != nil {
				return fmt.Errorf("link %s: %w", d.key, err)
			}
			s.note(created)
		}
		for i, r := range d.roles {
			role := &domain.AdminRole{ID: ID(fmt.Sprintf("role:%s:%d", d.key, i)), OrgID: org, UserID: u.ID, Role: r.role}
			if r.unit != "" {
				unit := ID("unit:" + r.unit)
				role.ProductionUnitID = &unit
			}
			if r.from != 0 {
				t := s.now.Add(r.from)
				role.ValidFrom = &t
			}
			if r.to != 0 {
				t := s.now.Add(r.to)
				role.ValidTo = &t
			}
			created, err := ignoreExisting(s.roles.AssignAdminRole(s.ctx, role))
			if err != nil {
				return fmt.Errorf("role %s of %s: %w", r.role, d.key, err)
			}
			s.note(created)
		}
	}
	return nil
}

func (s *seeder) catalogue() error {
	provider := ID("org:" + CVRSkattefar)
	systems := []domain.ITSystem{
		{ID: ID("system:moms"), OrgID: provider, Name: "Momsportalen", Description: "Indberetning og overblik over moms."},
		{ID: ID("system:loen"), OrgID: provider, Name: "Lønportalen", Description: "Lønadministration og indberetning af løn."},
	}
	for i := range systems {
		created, err := ignoreExisting(s.rights.CreateITSystem(s.ctx, &systems[i]))
		if err != nil {
			return fmt.Errorf("IT system %s: %w", systems[i].Name, err)
		}
		s.note(created)
	}
	for _, p := range demoPrivileges(provider) {
		created, err := ignoreExisting(s.rights.PublishPrivilege(s.ctx, p))
		if err != nil {
			return fmt.Errorf("privilege %s: %w", p.URI, err)
		}
		s.note(created)
	}
	return nil
}

func demoPrivileges(provider uuid.UUID) []*domain.Privilege {
	return []*domain.Privilege{
		{ID: ID("priv:moms:indberet"), OrgID: provider, ITSystemID: ID("system:moms"), URI: "urn:dk:skattefar:moms:indberet",
			NameDA: "Indberet moms", NameEN: "File VAT returns", DescriptionDA: "Indberette og rette momsangivelser.", DescriptionEN: "File and correct VAT returns.",
			MinLoA: domain.LoASubstantial, GroupAssignable: true, NeedsApproval: true},
		{ID: ID("priv:moms:laes"), OrgID: provider, ITSystemID: ID("system:moms"), URI: "urn:dk:skattefar:moms:laes",
			NameDA: "Se moms", NameEN: "View VAT", DescriptionDA: "Se momsangivelser og betalinger.", DescriptionEN: "View VAT returns and payments.",
			ConstraintTypes: []string{"urn:dk:gov:saml:productionUnitIdentifier"}, MinLoA: domain.LoALow, GroupAssignable: true, NeedsApproval: false},
		{ID: ID("priv:loen:administrer"), OrgID: provider, ITSystemID: ID("system:loen"), URI: "urn:dk:skattefar:loen:administrer",
			NameDA: "Administrer løn", NameEN: "Administer payroll", DescriptionDA: "Oprette og godkende lønkørsler.", DescriptionEN: "Create and approve payroll runs.",
			ConstraintTypes: []string{"urn:dk:kombit:KLE"}, MinLoA: domain.LoAHigh, GroupAssignable: false, NeedsApproval: true},
	}
}

func (s *seeder) groupsAndAssignments() error {
	nordlys := ID("org:" + CVRNordlys)
	aarhus := ID("unit:1012345672")
	groups := []domain.Group{
		{ID: ID("group:bogholderi"), OrgID: nordlys, Name: "Bogholderi", Description: "Bogholderiet og den eksterne revisor."},
		{ID: ID("group:aarhus"), OrgID: nordlys, Name: "Aarhus-afdelingen", Description: "Alle medarbejdere i Aarhus.", ProductionUnitID: &aarhus},
	}
	for i := range groups {
		created, err := ignoreExisting(s.groups.CreateGroup(s.ctx, &groups[i]))
		if err != nil {
			return fmt.Errorf("group %s: %w", groups[i].Name, err)
		}
		s.note(created)
	}
	members := []struct{ group, user, org string }{
		{"bogholderi", "lars", CVRNordlys}, {"bogholderi", "sofie", CVRNordlys}, {"bogholderi", "anders", CVRHavbryg},
		{"aarhus", "peter", CVRNordlys},
	}
	for _, m := range members {
		created, err := ignoreExisting(s.groups.AddGroupMember(s.ctx, &domain.GroupMember{ID: ID("member:" + m.group + ":" + m.user),
			OrgID: nordlys, GroupID: ID("group:" + m.group), UserID: ID("user:" + m.user), MemberOrgID: ID("org:" + m.org)}))
		if err != nil {
			return fmt.Errorf("member %s of %s: %w", m.user, m.group, err)
		}
		s.note(created)
	}
	endOfNextYear := time.Date(s.now.Year()+1, 12, 31, 0, 0, 0, 0, time.UTC)
	sofie, lars, bogholderi, aarhusGroup := ID("user:sofie"), ID("user:lars"), ID("group:bogholderi"), ID("group:aarhus")
	granter := ID("user:sofie")
	assignments := []domain.Assignment{
		{ID: ID("assign:lars:moms:indberet"), OrgID: nordlys, PrivilegeID: ID("priv:moms:indberet"), UserID: &lars,
			Scope: domain.Scope{Kind: domain.ScopeCVR, Value: CVRNordlys}, GrantedBy: &granter},
		{ID: ID("assign:bogholderi:moms:laes"), OrgID: nordlys, PrivilegeID: ID("priv:moms:laes"), GroupID: &bogholderi,
			Scope: domain.Scope{Kind: domain.ScopeCVR, Value: CVRNordlys}, GrantedBy: &granter},
		{ID: ID("assign:aarhus:moms:laes"), OrgID: nordlys, PrivilegeID: ID("priv:moms:laes"), GroupID: &aarhusGroup,
			Scope: domain.Scope{Kind: domain.ScopeP, Value: "1012345672"}, GrantedBy: &granter},
		{ID: ID("assign:sofie:loen"), OrgID: nordlys, PrivilegeID: ID("priv:loen:administrer"), UserID: &sofie,
			Scope: domain.Scope{Kind: domain.ScopeP, Value: "1012345672"}, ConstraintValues: map[string]string{"urn:dk:kombit:KLE": "25.*"},
			ValidTo: &endOfNextYear, GrantedBy: &granter},
	}
	for i := range assignments {
		created, err := ignoreExisting(s.rights.CreateAssignment(s.ctx, &assignments[i]))
		if err != nil {
			return fmt.Errorf("assignment %s: %w", assignments[i].ID, err)
		}
		s.note(created)
	}
	return nil
}

// powersOfAttorney lets the accounting firm Havbryg file and read Nordlys's
// VAT: Nordlys offers, Havbryg accepts and passes filing on to Anders.
func (s *seeder) powersOfAttorney() error {
	nordlys, havbryg := ID("org:"+CVRNordlys), ID("org:"+CVRHavbryg)
	poas := postgres.NewPoAService(s.db, nil)
	existing, err := poas.ListPoAs(s.ctx, nordlys)
	if err != nil {
		return fmt.Errorf("powers of attorney: %w", err)
	}
	for _, p := range existing {
		if p.Grantee.ID == havbryg {
			return nil
		}
	}
	mette := postgres.Actor{UserID: ID("user:mette"), Label: "Mette Nordlys"}
	anders := postgres.Actor{UserID: ID("user:anders"), Label: "Anders Revsbech"}
	poa, err := poas.Offer(s.ctx, mette, nordlys, postgres.PoAOffer{GranteeCVR: CVRHavbryg,
		Privileges: []domain.PoAPrivilege{{PrivilegeID: ID("priv:moms:indberet")}, {PrivilegeID: ID("priv:moms:laes")}},
		Scope:      domain.Scope{Kind: domain.ScopeCVR, Value: CVRNordlys}}, postgres.PoAMail{})
	if err != nil {
		return fmt.Errorf("offer power of attorney: %w", err)
	}
	if err := poas.Accept(s.ctx, anders, havbryg, poa.ID, postgres.PoAMail{}); err != nil {
		return fmt.Errorf("accept power of attorney: %w", err)
	}
	andersID := ID("user:anders")
	passed := &domain.Assignment{OrgID: havbryg, PrivilegeID: ID("priv:moms:indberet"), UserID: &andersID,
		Scope: domain.Scope{Kind: domain.ScopeCVR, Value: CVRNordlys}, GrantedBy: &andersID, ViaPoAID: &poa.ID}
	if err := poas.PassOn(s.ctx, anders, havbryg, poa.ID, passed, nil); err != nil {
		return fmt.Errorf("pass on power of attorney: %w", err)
	}
	s.created += 3
	return nil
}

func (s *seeder) guide() string {
	var b strings.Builder
	if s.created == 0 {
		b.WriteString("Demo data already in place; nothing changed.\n")
	} else {
		fmt.Fprintf(&b, "Demo data loaded: %d objects created.\n", s.created)
	}
	b.WriteString(`
Organisations:
  91234564  Nordlys Rådgivning ApS   (customer: employees in every status, groups, rights)
  93847261  Skattefar Digital A/S    (service provider: Momsportalen, Lønportalen)
  95001238  Havbryg Revision I/S     (accounting firm; its people also work for Nordlys)

Test persons at the MitID simulator (subject → role):
  demo-mette   organisation administrator of Nordlys and of Havbryg (two business identities)
  demo-jonas   user administrator of Nordlys
  demo-sofie   rights administrator of Nordlys
  demo-peter   user administrator of Nordlys, limited to P-number 1012345672 (Aarhus)
  demo-rasmus  rights administrator of Nordlys until a date; his organisation administrator role has expired
  demo-lars    employee of Nordlys with rights
  demo-henrik  organisation administrator of Skattefar (service provider)
  demo-anders  organisation administrator of Havbryg; member of a Nordlys group; files Nordlys's VAT through a power of attorney
  demo-freja   anonymous employee of Nordlys
  demo-karen   deactivated employee of Nordlys (cannot use the portal)
  demo-emma    created in Nordlys, not yet activated (has a CPR number)
  demo-ahmed   created in Nordlys, not yet activated (date of birth only: activates with a code)
  demo-rikke   management representative: connects Solbær ApS (30264878) under "Tilslut virksomhed"
  demo-low     can only log in at level Low: the portal refuses (it needs Substantial)
`)
	return b.String()
}
