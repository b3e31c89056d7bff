package web

import "maps"

// The texts of logging in to a professional service through the platform.
// %s in sso.choose.lead is the service, then its provider; in the others
// the service.
func init() {
	maps.Copy(messages[LangDanish], map[string]string{
		"sso.choose.title":         "Vælg organisation",
		"sso.choose.heading":       "Hvilken organisation logger du ind for?",
		"sso.choose.lead":          "Du logger ind i %s fra %s. Du har erhvervsidentiteter i flere organisationer: vælg den, du vil bruge tjenesten for nu.",
		"sso.back":                 "Tilbage til %s uden at logge ind",
		"sso.blocked.title":        "Du kan ikke logge ind",
		"sso.blocked.deactivated":  "Din erhvervsidentitet er deaktiveret, så du kan ikke logge ind i %s. Kontakt en administrator i din organisation, hvis det er en fejl.",
		"sso.blocked.none":         "Du har ingen aktiv erhvervsidentitet, så du kan ikke logge ind i %s. En administrator i din organisation skal oprette dig, og du skal aktivere identiteten.",
		"sso.request_gone.title":   "Login-forespørgslen findes ikke",
		"sso.request_gone.message": "Forespørgslen findes ikke, er allerede brugt eller er udløbet. Gå tilbage til tjenesten og log ind igen.",
		"sso.logged_out.title":     "Du er logget ud",
		"sso.logged_out.message":   "Du er logget ud af erhverv og af tjenesten.",
	})
	maps.Copy(messages[LangEnglish], map[string]string{
		"sso.choose.title":         "Choose organisation",
		"sso.choose.heading":       "Which organisation are you logging in for?",
		"sso.choose.lead":          "You are logging in to %s from %s. You have business identities in several organisations: choose the one you are using the service for now.",
		"sso.back":                 "Back to %s without logging in",
		"sso.blocked.title":        "You cannot log in",
		"sso.blocked.deactivated":  "Your business identity is deactivated, so you cannot log in to %s. Contact an administrator in your organisation if this is a mistake.",
		"sso.blocked.none":         "You have no active business identity, so you cannot log in to %s. An administrator in your organisation must create you, and you must activate the identity.",
		"sso.request_gone.title":   "Unknown login request",
		"sso.request_gone.message": "The request does not exist, was used already or has expired. Go back to the service and log in again.",
		"sso.logged_out.title":     "You are logged out",
		"sso.logged_out.message":   "You are logged out of erhverv and of the service.",
	})
}
