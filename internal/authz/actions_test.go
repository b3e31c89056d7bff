package authz

// allActions lists every Action constant, for TestActionsMatchCatalogue.
var allActions = []string{
	ActionOrgRead, ActionOrgSettingsUpdate, ActionUnitRead, ActionUnitManage,
	ActionUserRead, ActionUserCreate, ActionUserUpdate, ActionUserDeactivate,
	ActionUserReactivate, ActionUserDelete, ActionUserResendActivation,
	ActionUserImport, ActionUserExport,
	ActionAdminRoleRead, ActionAdminRoleAssign, ActionAdminRoleRemove,
	ActionGroupRead, ActionGroupCreate, ActionGroupUpdate, ActionGroupDelete,
	ActionGroupMembersManage, ActionGroupPrivilegesManage,
	ActionITSystemManage, ActionPrivilegePublish, ActionPrivilegeRead,
	ActionAssignmentRead, ActionAssignmentCreate, ActionAssignmentRemove,
	ActionRightsRequestCreate, ActionRightsRequestRead,
	ActionRightsRequestApprove, ActionRightsRequestReject,
	ActionPOARead, ActionPOAGrant, ActionPOAAccept, ActionPOAEnd,
	ActionAuditRead, ActionAuditExport, ActionAPIClientManage, ActionSelfRead,
	ActionDecisionAsk, ActionEffectiveRead, ActionEventsRead, ActionWebhookManage, ActionSCIMRead, ActionSCIMWrite,
}
