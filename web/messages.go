package web

import "strings"

// Languages the portal speaks. Danish is the default: the portal serves
// Danish businesses, and English is offered for foreign employees.
const (
	LangDanish  = "da"
	LangEnglish = "en"
)

// Paths of the sign-in routes the layout and pages link to.
const (
	LoginPath  = "/login"
	LogoutPath = "/logout"
)

// NormalizeLang maps a language tag ("en", "en-GB", "da-DK", "") to one
// the portal speaks, falling back to Danish.
func NormalizeLang(tag string) string {
	base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
	if base == LangEnglish {
		return LangEnglish
	}
	return LangDanish
}

// T returns the text for key in lang. A key missing in English falls back
// to Danish, and a key missing everywhere comes back as itself, so a gap
// is visible on the page rather than blank. The catalogue is a plain map
// for now; a message library can replace it without touching the callers.
func T(lang, key string) string {
	if s, ok := messages[NormalizeLang(lang)][key]; ok {
		return s
	}
	if s, ok := messages[LangDanish][key]; ok {
		return s
	}
	return key
}

var messages = map[string]map[string]string{
	LangDanish: {
		"platform.name":    "erhverv",
		"platform.tagline": "Erhvervsidentiteter, roller og rettigheder",
		"skip.link":        "Gå til sidens indhold",
		"header.home":      "erhverv, gå til forsiden",
		"header.login":     "Log ind",
		"header.logout":    "Log af",
		"header.user":      "Bruger",
		"nav.label":        "Hovedmenu",
		"menu.open":        "Menu",
		"menu.heading":     "Menu",
		"menu.close":       "Luk",
		"menu.close.label": "Luk menu",
		"footer.heading":   "Om erhverv",
		"footer.about": "erhverv samler virksomheders digitale identiteter, " +
			"medarbejderes roller og rettigheder til offentlige og private " +
			"selvbetjeningsløsninger ét sted, med MitID som login.",
		"footer.links": "Genveje",
		"footer.home":  "Forside",

		"home.title":   "Forside",
		"home.heading": "Styr virksomhedens identiteter, roller og rettigheder",
		"home.lead": "Med erhverv giver en virksomhed sine medarbejdere adgang til " +
			"digitale selvbetjeningsløsninger som virksomhed, og bestemmer selv, " +
			"hvem der må hvad.",
		"home.login":             "Log ind med MitID",
		"home.login.help":        "Du logger ind med dit eget MitID og vælger derefter, hvilken virksomhed du handler på vegne af.",
		"home.users.heading":     "Hvem bruger erhverv?",
		"home.admins.title":      "Virksomhedsadministratorer",
		"home.admins.text":       "opretter medarbejdere, tildeler roller og rettigheder, og kan se hvorfor en medarbejder har en rettighed.",
		"home.employees.title":   "Medarbejdere",
		"home.employees.text":    "logger ind med MitID og handler på virksomhedens vegne med netop de rettigheder, de har fået.",
		"home.integrators.title": "Integratorer",
		"home.integrators.text":  "kobler virksomhedens egne systemer og selvbetjeningsløsninger på via OpenID Connect, REST og SCIM.",

		"error.back":          "Gå til forsiden",
		"error.code":          "Fejlkode",
		"error.400.title":     "Forespørgslen kunne ikke behandles",
		"error.400.message":   "Der var en fejl i de oplysninger, siden fik. Gå tilbage og prøv igen.",
		"error.401.title":     "Du skal logge ind",
		"error.401.message":   "Log ind med MitID for at se denne side.",
		"error.403.title":     "Du har ikke adgang til siden",
		"error.403.message":   "Din rolle giver ikke adgang til denne side. Kontakt en administrator i din virksomhed, hvis du mener, du burde have adgang.",
		"error.404.title":     "Siden findes ikke",
		"error.404.message":   "Siden er måske flyttet eller slettet, eller adressen er skrevet forkert.",
		"error.409.title":     "Ændringen kunne ikke gennemføres",
		"error.409.message":   "Oplysningerne er blevet ændret i mellemtiden. Hent siden igen og prøv en gang til.",
		"error.500.title":     "Der er sket en fejl",
		"error.500.message":   "Vi kunne ikke vise siden. Prøv igen om lidt.",
		"error.other.title":   "Der er sket en fejl",
		"error.other.message": "Vi kunne ikke vise siden. Prøv igen om lidt.",
	},
	LangEnglish: {
		"platform.name":    "erhverv",
		"platform.tagline": "Business identities, roles and rights",
		"skip.link":        "Skip to main content",
		"header.home":      "erhverv, go to the front page",
		"header.login":     "Log in",
		"header.logout":    "Log out",
		"header.user":      "User",
		"nav.label":        "Main menu",
		"menu.open":        "Menu",
		"menu.heading":     "Menu",
		"menu.close":       "Close",
		"menu.close.label": "Close menu",
		"footer.heading":   "About erhverv",
		"footer.about": "erhverv brings businesses' digital identities and their " +
			"employees' roles and rights for public and private self-service " +
			"solutions together in one place, with MitID as the login.",
		"footer.links": "Shortcuts",
		"footer.home":  "Front page",

		"home.title":   "Front page",
		"home.heading": "Manage your business's identities, roles and rights",
		"home.lead": "With erhverv a business gives its employees access to digital " +
			"self-service solutions on the business's behalf, and decides for " +
			"itself who may do what.",
		"home.login":             "Log in with MitID",
		"home.login.help":        "You log in with your own MitID and then choose which business you act on behalf of.",
		"home.users.heading":     "Who uses erhverv?",
		"home.admins.title":      "Business administrators",
		"home.admins.text":       "create employees, grant roles and rights, and can see why an employee holds a right.",
		"home.employees.title":   "Employees",
		"home.employees.text":    "log in with MitID and act on the business's behalf with exactly the rights they have been given.",
		"home.integrators.title": "Integrators",
		"home.integrators.text":  "connect the business's own systems and self-service solutions through OpenID Connect, REST and SCIM.",

		"error.back":          "Go to the front page",
		"error.code":          "Error code",
		"error.400.title":     "The request could not be processed",
		"error.400.message":   "The page received information with an error in it. Go back and try again.",
		"error.401.title":     "You need to log in",
		"error.401.message":   "Log in with MitID to see this page.",
		"error.403.title":     "You do not have access to this page",
		"error.403.message":   "Your role does not give access to this page. Contact an administrator in your business if you think you should have access.",
		"error.404.title":     "The page does not exist",
		"error.404.message":   "The page may have been moved or deleted, or the address may be misspelt.",
		"error.409.title":     "The change could not be made",
		"error.409.message":   "The information was changed in the meantime. Reload the page and try again.",
		"error.500.title":     "Something went wrong",
		"error.500.message":   "We could not show the page. Please try again in a moment.",
		"error.other.title":   "Something went wrong",
		"error.other.message": "We could not show the page. Please try again in a moment.",
	},
}
