package erhverv.admin

# Reasons: every decision explains itself with stable codes and short messages.
# The codes are the contract (the portal translates them); messages are English.

_reason(code, message) := {"code": code, "message": message}

# The action as it may appear in a message, even when it is missing.
_action_label := input.action if {
	is_string(input.action)
} else := "(no action)"
