// Package policy holds the Rego policies that decide what administrators may do
// (policy/admin), what API clients may do (policy/api) and which privileges
// business identities hold (policy/rights),
// the static catalogue of actions and roles they read as data, and their tests.
//
// The layout follows OPA's own conventions, so `opa test policy/` and the
// embedded engine in internal/authz see the same documents: policy/admin is
// package erhverv.admin, and a data file's directory is its path under data,
// so erhverv/catalogue/data.json is data.erhverv.catalogue.
package policy

import "embed"

// FS holds what the server evaluates: every module and data file under policy/
// except the Rego tests, which stay out of the binary. The files are listed one
// by one because a pattern cannot leave the tests out; TestFSHoldsEveryPolicy
// fails when a new file is missing from the list.
//
//go:embed api/decision.rego
//go:embed admin/decision.rego admin/duties.rego admin/gates.rego admin/reasons.rego admin/roles.rego
//go:embed erhverv/catalogue/data.json
//go:embed rights/checks.rego rights/decision.rego rights/reasons.rego
var FS embed.FS
