package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/erhverv/erhverv/internal/domain"
)

// constraintMessages turns a database constraint into a message for the
// person whose input broke it. A constraint missing here still becomes a
// conflict or invalid error, with a generic message.
var constraintMessages = map[string]*domain.Error{
	"organisations_cvr_key":                {Code: domain.ECONFLICT, Field: "cvr", Key: "org.cvr_taken", Message: "This CVR number is already connected."},
	"organisations_cvr_check":              {Code: domain.EINVALID, Field: "cvr", Key: "cvr.checksum", Message: "The CVR number is not valid (8 digits with a correct check digit)."},
	"production_units_p_number_key":        {Code: domain.ECONFLICT, Field: "p_number", Key: "unit.p_taken", Message: "This P-number is already registered."},
	"production_units_p_number_check":      {Code: domain.EINVALID, Field: "p_number", Key: "pnumber.format", Message: "A P-number has 10 digits."},
	"se_numbers_se_number_key":             {Code: domain.ECONFLICT, Field: "se_number", Key: "se.taken", Message: "This SE-number is already registered."},
	"se_numbers_se_number_check":           {Code: domain.EINVALID, Field: "se_number", Key: "senumber.format", Message: "An SE-number has 8 digits."},
	"users_org_email_key":                  {Code: domain.ECONFLICT, Field: "email", Key: "user.email_taken", Message: "A user with this email already exists in the organisation."},
	"users_org_cpr_key":                    {Code: domain.ECONFLICT, Field: "cpr", Key: "user.cpr_taken", Message: "This person already has a business identity in the organisation."},
	"users_email_check":                    {Code: domain.EINVALID, Field: "email", Key: "email.format", Message: "The email address is not valid."},
	"users_birth_date_check":               {Code: domain.EINVALID, Field: "birth_date", Key: "user.birth_date_range", Message: "The date of birth is not plausible."},
	"users_production_unit_fkey":           {Code: domain.ENOTFOUND, Field: "production_unit", Key: "unit.not_found", Message: "The production unit does not belong to the organisation."},
	"users_se_number_fkey":                 {Code: domain.ENOTFOUND, Field: "se_number", Key: "se.not_found", Message: "The SE-number does not belong to the organisation."},
	"person_links_user_key":                {Code: domain.ECONFLICT, Field: "", Key: "link.user_taken", Message: "This business identity is already linked to a person."},
	"person_links_subject_org_key":         {Code: domain.ECONFLICT, Field: "", Key: "link.person_taken", Message: "This person already has a business identity in the organisation."},
	"admin_roles_user_role_unit_key":       {Code: domain.ECONFLICT, Field: "role", Key: "role.taken", Message: "The user already holds this role for this unit."},
	"admin_roles_user_fkey":                {Code: domain.ENOTFOUND, Field: "user", Key: "user.not_found", Message: "The user does not belong to the organisation."},
	"admin_roles_production_unit_fkey":     {Code: domain.ENOTFOUND, Field: "production_unit", Key: "unit.not_found", Message: "The production unit does not belong to the organisation."},
	"admin_roles_org_admin_unscoped_check": {Code: domain.EINVALID, Field: "production_unit", Key: "role.org_admin_unit", Message: "An organisation administrator cannot be limited to one production unit."},
	"user_groups_production_unit_fkey":     {Code: domain.EINVALID, Field: "production_unit", Key: "unit.not_found", Message: "The production unit does not belong to the organisation."},
	"user_groups_se_number_fkey":           {Code: domain.EINVALID, Field: "se_number", Key: "se.not_found", Message: "The SE-number does not belong to the organisation."},
	"user_groups_org_name_key":             {Code: domain.ECONFLICT, Field: "name", Key: "group.name_taken", Message: "A group with this name already exists."},
	"group_members_group_user_key":         {Code: domain.ECONFLICT, Field: "user", Key: "group.member_exists", Message: "The user is already a member of the group."},
	"group_members_group_fkey":             {Code: domain.ENOTFOUND, Field: "group", Key: "group.not_found", Message: "The group does not exist."},
	"group_members_user_fkey":              {Code: domain.ENOTFOUND, Field: "user", Key: "user.not_found", Message: "The user does not exist."},
	"it_systems_org_name_key":              {Code: domain.ECONFLICT, Field: "name", Key: "itsystem.name_taken", Message: "The provider already has an IT system with this name."},
	"privileges_uri_key":                   {Code: domain.ECONFLICT, Field: "uri", Key: "privilege.uri_taken", Message: "A privilege with this identifier is already published."},
	"privileges_it_system_fkey":            {Code: domain.ENOTFOUND, Field: "it_system", Key: "itsystem.not_found", Message: "The IT system does not belong to the provider."},
	"privilege_assignments_user_fkey":      {Code: domain.ENOTFOUND, Field: "user", Key: "user.not_found", Message: "The user does not belong to the organisation."},
	"privilege_assignments_group_fkey":     {Code: domain.ENOTFOUND, Field: "group", Key: "group.not_found", Message: "The group does not belong to the organisation."},
	"privilege_assignments_scope_check":    {Code: domain.EINVALID, Field: "scope", Key: "scope.format", Message: "The scope is not a valid CVR, P- or SE-number."},
	"privilege_assignments_period_check":   {Code: domain.EINVALID, Field: "valid_to", Key: "period.order", Message: "The end date must be after the start date."},
	"rights_requests_reason_check":         {Code: domain.EINVALID, Field: "reason", Key: "request.reason", Message: "Explain the request in at least 10 characters."},
	"rights_requests_not_own_check":        {Code: domain.EFORBIDDEN, Field: "", Key: "request.own", Message: "No one may decide their own request."},
}

// pgError maps a database error to a domain error. Errors that are not a
// constraint violation are wrapped as they are (and end up internal).
func pgError(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return &domain.Error{Code: domain.ENOTFOUND, Key: "not_found", Message: "Not found."}
	}
	var pg *pgconn.PgError
	if !errors.As(err, &pg) {
		return fmt.Errorf("%s: %w", op, err)
	}
	if e, ok := constraintMessages[pg.ConstraintName]; ok {
		c := *e
		return &c
	}
	switch pg.Code {
	case "23505": // unique_violation
		return &domain.Error{Code: domain.ECONFLICT, Key: "conflict", Message: "This already exists."}
	case "23503": // foreign_key_violation
		return &domain.Error{Code: domain.ENOTFOUND, Key: "reference_not_found", Message: "Something this refers to does not exist."}
	case "23514", "23502", "22P02", "22007", "22008": // check, not null, bad text representation, bad datetime
		return &domain.Error{Code: domain.EINVALID, Key: "invalid", Message: "Some of the input is not valid."}
	}
	return fmt.Errorf("%s: %w", op, err)
}
