// Package scim serves SCIM 2.0 (RFC 7643, RFC 7644) at /scim/v2, so a
// company can provision its directory (Microsoft Entra ID, Okta) into the
// platform: SCIM Users are the organisation's business identities, SCIM
// Groups its user groups. Every change goes through the same services as the
// portal, one audited transaction at a time, in the organisation's audit log.
//
// # Users
//
//   - id is the professional UUID. userName is the email address: it is
//     unique in the organisation (case-insensitive; a second one is 409
//     uniqueness) and receives the activation mail. emails is derived from
//     userName (one work address) and values written to it are ignored: map
//     the directory's mail attribute to userName.
//   - name.givenName and name.familyName are the first and last name (when
//     both are missing, displayName or name.formatted is split at its last
//     space); displayName and name.formatted are derived from them.
//   - phoneNumbers holds one number: the primary one, else the work one,
//     else the mobile one; spaces, dashes, dots and brackets are removed.
//   - The enterprise extension's employeeNumber and department are the
//     organisation's extra user fields of those names.
//   - A user needs a CPR number or a date of birth (domain.User.Validate),
//     which directories do not have by default. The extension
//     urn:erhverv:scim:schemas:1.0:User carries them: birthDate
//     (YYYY-MM-DD, returned) and cpr (write-only, never returned, never
//     logged). Creating a user with neither is refused with 400 invalidValue
//     naming both attributes; the directory maps an attribute to one of them.
//     With a CPR number the person activates with MitID alone; with only a
//     date of birth, activation also takes a one-time code that an
//     administrator issues in the portal (resend activation), because a
//     code must be handed over in person, not to a directory.
//   - A created user is pending until the person activates it from the mail
//     (in preferredLanguage, or locale, "da" by default). active is true for
//     pending and active users and false for deactivated ones; active=false
//     deactivates and active=true reactivates. The user lifecycle does not
//     let a pending user be deactivated (domain.CanTransition), so
//     active=false for one, or a create with active=false, is 400
//     invalidValue saying so: delete it instead.
//   - DELETE deletes the user (status deleted, personal data erased, the
//     UUID kept); afterwards it is 404 like any unknown id, and its
//     userName and externalId are free again.
//   - externalId is stored (unique per organisation, 409 uniqueness;
//     migration 00014).
//   - meta.version is W/"<version>", also sent as ETag. If-Match is honoured
//     on PUT, PATCH and DELETE (412 when stale); If-None-Match on GET. A
//     change without If-Match that races another is retried on fresh data.
//   - A PUT replaces the core attributes (a missing phoneNumbers removes
//     the number). What a directory may not manage is kept when missing:
//     externalId, active (the status), birthDate and cpr, and an extension
//     that is missing as a whole. Attributes outside the schema (title,
//     addresses, password, ...) are ignored, in bodies and in PATCH paths
//     alike, as are writes to read-only attributes; a PATCH path naming an
//     attribute no schema defines is 400 invalidPath.
//   - A PATCH is applied to the user's representation and saved as a PUT
//     would be. The data, the externalId and the status are saved one after
//     the other, each in its own audited transaction, only when changed.
//
// # Groups
//
// displayName is the group's name (unique, case-insensitive), externalId is
// stored, and members are the group's members of its own organisation:
// members from other organisations, added in the portal, are neither shown
// nor changed, and a member must be a user of the organisation. A PUT that
// omits externalId or members keeps them. A PATCH or PUT is one
// transaction with an audit event per membership. PATCH accepts add,
// remove and replace of members (Okta), remove with the members as the
// value (Entra) and remove by filter (members[value eq "..."]); it answers
// 204, or 200 with the group when attributes or excludedAttributes is given.
// Groups have no version, so no ETag.
//
// # Requests
//
// Filters (eq ne co sw ew gt ge lt le pr, and, or, not, value paths such as
// emails[type eq "work"]) on userName, externalId, id, emails.value,
// name.givenName, name.familyName, displayName, phoneNumbers.value, active,
// meta.created, meta.lastModified and the enterprise attributes for users,
// and on displayName, externalId, id, members.value and meta for groups,
// become SQL with bound values (userName eq and externalId eq are index
// lookups, userName co uses the trigram index); a lookup never loads the
// organisation's users to filter them. A filter that does not parse, names
// another attribute or compares the wrong type is 400 invalidFilter. Lists
// are sorted by name and paged with startIndex and count (at most 200;
// default 100); attributes and excludedAttributes select top-level
// attributes. Errors use the SCIM error schema with the status as a string;
// every answer is application/scim+json. Operation names are
// case-insensitive and booleans may come as strings ("False"), as Entra
// sends them.
package scim
