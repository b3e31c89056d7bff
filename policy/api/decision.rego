# METADATA
# title: API client decisions
# description: |
#   May this API client do this action on this resource? The input is the
#   request: the client (its organisation and scopes), the action, and the
#   resource's organisation (and, for questions about privileges, the
#   organisation that provides them). data.erhverv.catalogue.api_scopes maps
#   each scope to the actions it allows.
package erhverv.api

import data.erhverv.catalogue

# METADATA
# title: Decision
# description: |
#   The one entry point: {"allow": bool, "reasons": [{"code", "message"}]}.
#   A client acts for its own organisation; a service provider's client may
#   also ask about any organisation's users, for its own IT systems'
#   privileges only.
# entrypoint: true
decision := {"allow": true, "reasons": sort([reason | some reason in _grants])} if {
	count(_gates) == 0
	count(_grants) > 0
} else := {"allow": false, "reasons": sort([reason | some reason in _denials])}

_denials := _gates if {
	count(_gates) > 0
} else := {_missing_scope} if {
	count(_granting_scopes) == 0
} else := {{
	"code": "tenant_isolation",
	"message": "The resource belongs to another organisation.",
}}

_gates contains {"code": "unknown_action", "message": sprintf("Unknown action %v.", [input.action])} if {
	object.get(catalogue.actions, input.action, null) == null
}

_gates contains {"code": "client_unknown", "message": "The client has no organisation."} if {
	not _client_org
}

_client_org := input.client.org_id if {
	is_string(input.client.org_id)
	input.client.org_id != ""
}

# The client's scopes that allow the action.
_granting_scopes contains scope if {
	some scope in input.client.scopes
	input.action in catalogue.api_scopes[scope].actions
}

_missing_scope := {
	"code": "missing_scope",
	"message": sprintf("No scope of the client allows %v; it needs one of: %v.", [input.action, concat(", ", _needed_scopes)]),
}

_needed_scopes := sort([scope |
	some scope, definition in catalogue.api_scopes
	input.action in definition.actions
])

# The organisation's own resource.
_grants contains {
	"code": "scope_grants_action",
	"message": sprintf("Scope %v allows %v in the client's organisation.", [scope, input.action]),
} if {
	some scope in _granting_scopes
	input.resource.org_id == _client_org
}

# A service provider asking about its own IT systems' privileges, for a user
# of any organisation.
_grants contains {
	"code": "provider_grants_action",
	"message": sprintf("Scope %v allows %v on the client's own IT systems.", [scope, input.action]),
} if {
	some scope in _granting_scopes
	input.action in catalogue.api_provider_actions
	input.resource.provider_org_id == _client_org
}
