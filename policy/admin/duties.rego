package erhverv.admin

# Separation of duties: rules that deny even when a role grants the action.
# Each rule opens with a test of input.action, so OPA's rule index skips the
# rules that cannot apply to the action at hand.

_rule_denials contains _reason("own_request", "No one may approve or reject their own request.") if {
	input.action in {"rights_request.approve", "rights_request.reject"}
	is_string(input.subject.user_id)
	input.subject.user_id != ""
	input.resource.requester_id == input.subject.user_id
}

_rule_denials contains _reason(
	"user_admin_cannot_approve",
	"A user administrator may not approve or reject rights requests.",
) if {
	input.action in {"rights_request.approve", "rights_request.reject"}
	"user_admin" in _held_roles
	not "rights_admin" in _held_roles
	not "org_admin" in _held_roles
}

_rule_denials contains _reason(
	"only_org_admin_grants_roles",
	"Only an organisation administrator may assign or remove administrator roles.",
) if {
	input.action in {"admin_role.assign", "admin_role.remove"}
	not _org_wide_org_admin
}

_rule_denials contains _reason(
	"only_org_admin_grants_roles",
	"Only an organisation administrator may decide a request for an administrator role.",
) if {
	input.action in {"rights_request.approve", "rights_request.reject"}
	input.resource.request_kind == "admin_role"
	not _org_wide_org_admin
}

# The last active organisation administrator stays: neither their role nor
# their user may go. An absent is_active_org_admin on a role counts as active;
# a missing or malformed count of administrators keeps them (fail closed).
_rule_denials contains _last_org_admin if {
	input.action == "admin_role.remove"
	input.resource.role == "org_admin"
	object.get(input.resource, "is_active_org_admin", true) != false
	not _other_org_admins_remain
}

_rule_denials contains _last_org_admin if {
	input.action in {"user.deactivate", "user.delete"}
	input.resource.is_active_org_admin == true
	not _other_org_admins_remain
}

_last_org_admin := _reason(
	"last_org_admin",
	"The last active organisation administrator cannot be removed, deactivated or deleted.",
)

_other_org_admins_remain if {
	is_number(input.context.active_org_admins)
	input.context.active_org_admins > 1
}

# Roles currently valid in the object's organisation, whatever their unit.
_held_roles contains role.role if {
	some role in _roles
	_in_window(role)
}

_org_wide_org_admin if {
	some role in _roles
	role.role == "org_admin"
	object.get(role, "unit_id", null) == null
	_in_window(role)
}
