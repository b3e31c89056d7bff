package web

import "maps"

// Messages of the rights check page. The policy's reasons are translated by
// their codes, as rights.reason.<code> in messages_rights.go.
func init() {
	maps.Copy(messages[LangDanish], map[string]string{
		"check.title":              "Tjek en rettighed",
		"check.heading":            "Tjek en rettighed",
		"check.intro":              "Se hvad en tjeneste får at vide, når den spørger om en medarbejder har en rettighed, og hvorfor.",
		"check.allow":              "Ja, medarbejderen har rettigheden.",
		"check.deny":               "Nej, medarbejderen har ikke rettigheden.",
		"check.user":               "Medarbejder",
		"check.user.hint":          "E-mail eller UUID på en bruger i organisationen.",
		"check.user.unknown":       "Organisationen har ingen bruger med den e-mail eller UUID. Skriv e-mailen eller UUID'en, som den står på brugerens side.",
		"check.privilege":          "Rettighed",
		"check.privilege.hint":     "Rettighedens identifikator, fx urn:dk:skat:moms:indberet.",
		"check.privilege.required": "Skriv rettighedens identifikator, fx urn:dk:skat:moms:indberet.",
		"check.scope":              "For",
		"check.scope.cvr":          "Hele CVR-nummeret",
		"check.constraints":        "Afgrænsninger",
		"check.constraints.hint":   "Én pr. linje som type=værdi, fx urn:dk:kombit:KLE=25.02.01.",
		"check.constraints.format": "Skriv hver afgrænsning på sin egen linje som type=værdi, fx urn:dk:kombit:KLE=25.02.01.",
		"check.level":              "Sikringsniveau ved login",
		"check.submit":             "Tjek",
		"level.low":                "Lav",
		"level.substantial":        "Betydelig",
		"level.high":               "Høj",
	})
	maps.Copy(messages[LangEnglish], map[string]string{
		"check.title":              "Check a right",
		"check.heading":            "Check a right",
		"check.intro":              "See what a service is told when it asks whether an employee holds a privilege, and why.",
		"check.allow":              "Yes, the employee holds the privilege.",
		"check.deny":               "No, the employee does not hold the privilege.",
		"check.user":               "Employee",
		"check.user.hint":          "Email or UUID of a user of the organisation.",
		"check.user.unknown":       "The organisation has no user with that email or UUID. Write the email or UUID as shown on the user's page.",
		"check.privilege":          "Privilege",
		"check.privilege.hint":     "The privilege's identifier, e.g. urn:dk:skat:moms:indberet.",
		"check.privilege.required": "Write the privilege's identifier, e.g. urn:dk:skat:moms:indberet.",
		"check.scope":              "For",
		"check.scope.cvr":          "The whole CVR number",
		"check.constraints":        "Constraints",
		"check.constraints.hint":   "One per line as type=value, e.g. urn:dk:kombit:KLE=25.02.01.",
		"check.constraints.format": "Write each constraint on its own line as type=value, e.g. urn:dk:kombit:KLE=25.02.01.",
		"check.level":              "Assurance level of the login",
		"check.submit":             "Check",
		"level.low":                "Low",
		"level.substantial":        "Substantial",
		"level.high":               "High",
	})
}
