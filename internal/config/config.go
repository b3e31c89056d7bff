// Package config reads erhverv's configuration from environment variables
// (flags may override them) and validates it, so a bad setting stops start-up
// with one line that names the variable and what is wrong, instead of a
// failure somewhere later.
package config

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config is the platform server's configuration.
type Config struct {
	DatabaseURL     string
	Addr            string
	BaseURL         *url.URL
	LogLevel        slog.Level
	LogFormat       string // json or text
	DataKey         []byte
	MigrateOnStart  bool
	PolicyDir       string
	ShutdownTimeout time.Duration
	DBMaxConns      int32

	Broker  Broker
	Session Session
	SMTP    SMTP
	// CVRRegisterFile is the file-backed CVR register (development and
	// tests); empty means connecting an organisation is unavailable.
	CVRRegisterFile string
	Webhooks        Webhooks
}

// Webhooks loosens the webhook rules for development and tests.
type Webhooks struct {
	// AllowHTTP accepts http:// subscriber URLs; otherwise only https://.
	AllowHTTP bool
	// AllowPrivateNetworks delivers to loopback and private addresses;
	// otherwise a webhook cannot reach into the platform's own network.
	AllowPrivateNetworks bool
}

// Broker is the MitID broker the platform logs people in through.
type Broker struct {
	Issuer       string // empty: login is not configured
	ClientID     string
	ClientSecret string // empty: a public client using PKCE only
	Profile      string // claim profile: oiosaml, signaturgruppen or idura
	// Minimum level of assurance per purpose: Low, Substantial or High.
	MinLevelAdmin, MinLevelConnect, MinLevelActivate string
}

// Session holds the login session's timeouts.
type Session struct {
	IdleTimeout time.Duration
	Lifetime    time.Duration
}

// SMTP is the mail server notifications are sent through.
type SMTP struct {
	Addr     string // host:port; empty: emails are queued but not sent by this process
	Username string
	Password string
	From     string
	TLS      string // starttls, tls or none
}

// Error names the variable at fault. Its text is the one line printed.
type Error struct {
	Var, Problem string
}

func (e *Error) Error() string { return fmt.Sprintf("configuration: %s: %s", e.Var, e.Problem) }

// Var describes one setting, for the README table and for validation.
type Var struct {
	Name, Default, Description string
	Required                   bool
}

// Vars lists every setting the server reads.
var Vars = []Var{
	{Name: "DATABASE_URL", Required: true, Description: "PostgreSQL connection URL, e.g. postgres://erhverv@127.0.0.1:5432/erhverv?sslmode=disable"},
	{Name: "ERHVERV_ADDR", Default: "127.0.0.1:8080", Description: "host:port the HTTP server listens on"},
	{Name: "ERHVERV_BASE_URL", Default: "http://ERHVERV_ADDR", Description: "public URL of the platform (https in production; decides Secure cookies and redirect URLs)"},
	{Name: "ERHVERV_DATA_KEY", Required: true, Description: "32 random bytes, base64: protects CPR numbers at rest (generate with `openssl rand -base64 32`)"},
	{Name: "ERHVERV_LOG_LEVEL", Default: "info", Description: "debug, info, warn or error"},
	{Name: "ERHVERV_LOG_FORMAT", Default: "json", Description: "json (one object a line) or text"},
	{Name: "ERHVERV_MIGRATE_ON_START", Default: "false", Description: "run pending migrations when `serve` starts (true/false)"},
	{Name: "ERHVERV_POLICY_DIR", Description: "directory of extra or replacing Rego policies and data, loaded over the built-in ones"},
	{Name: "ERHVERV_SHUTDOWN_TIMEOUT", Default: "20s", Description: "how long SIGTERM waits for in-flight requests to finish"},
	{Name: "ERHVERV_DB_MAX_CONNS", Default: "10", Description: "largest number of database connections of one server process"},
	{Name: "ERHVERV_BROKER_ISSUER", Description: "issuer URL of the MitID broker (OpenID Provider); unset, nobody can log in"},
	{Name: "ERHVERV_BROKER_CLIENT_ID", Description: "the platform's client id at the broker (required with the issuer)"},
	{Name: "ERHVERV_BROKER_CLIENT_SECRET", Description: "the client secret at the broker; unset, the platform is a public client using PKCE"},
	{Name: "ERHVERV_BROKER_PROFILE", Default: "oiosaml", Description: "how the broker names its claims: oiosaml, signaturgruppen or idura (see docs/BROKERS.md)"},
	{Name: "ERHVERV_BROKER_MIN_LEVEL_ADMIN", Default: "Substantial", Description: "lowest assurance level for the administration portal: Substantial or High"},
	{Name: "ERHVERV_BROKER_MIN_LEVEL_CONNECT", Default: "Substantial", Description: "lowest assurance level to connect an organisation: Substantial or High"},
	{Name: "ERHVERV_BROKER_MIN_LEVEL_ACTIVATE", Default: "Substantial", Description: "lowest assurance level to activate a business identity: Low, Substantial or High"},
	{Name: "ERHVERV_SESSION_IDLE_TIMEOUT", Default: "30m", Description: "a login session ends after this long without a request"},
	{Name: "ERHVERV_SESSION_LIFETIME", Default: "8h", Description: "a login session ends this long after login, whatever happens"},
	{Name: "ERHVERV_SMTP_ADDR", Description: "host:port of the SMTP server for notifications; unset, emails wait in the queue for a process that has one"},
	{Name: "ERHVERV_SMTP_USERNAME", Description: "SMTP user name (PLAIN/LOGIN authentication); unset, no authentication"},
	{Name: "ERHVERV_SMTP_PASSWORD", Description: "SMTP password"},
	{Name: "ERHVERV_SMTP_FROM", Default: "erhverv <noreply@erhverv.localhost>", Description: "sender address of notifications"},
	{Name: "ERHVERV_SMTP_TLS", Default: "starttls", Description: "starttls (required STARTTLS), tls (implicit TLS) or none (development only)"},
	{Name: "ERHVERV_CVR_REGISTER_FILE", Description: "JSON file of the file-backed CVR register (development and tests); unset, connecting an organisation is unavailable"},
	{Name: "ERHVERV_WEBHOOK_ALLOW_HTTP", Default: "false", Description: "accept http:// webhook URLs (development and tests only)"},
	{Name: "ERHVERV_WEBHOOK_ALLOW_PRIVATE", Default: "false", Description: "deliver webhooks to loopback and private addresses (development and tests only)"},
}

// Levels of assurance in increasing order, as configured.
var levels = map[string]int{"Low": 1, "Substantial": 2, "High": 3}

// Load reads the configuration through getenv (os.Getenv in production).
// Values not set take their defaults; nothing is validated until Validate,
// so flags can override first.
func Load(getenv func(string) string) (*Config, []error) {
	c := &Config{}
	var errs []error
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c.DatabaseURL = get("DATABASE_URL", "")
	c.Addr = get("ERHVERV_ADDR", "127.0.0.1:8080")
	if raw := get("ERHVERV_BASE_URL", ""); raw != "" {
		u, err := ParseBaseURL(raw)
		if err != nil {
			errs = append(errs, &Error{"ERHVERV_BASE_URL", err.Error()})
		}
		c.BaseURL = u
	}
	if err := c.SetLogLevel(get("ERHVERV_LOG_LEVEL", "info")); err != nil {
		errs = append(errs, &Error{"ERHVERV_LOG_LEVEL", err.Error()})
	}
	c.LogFormat = get("ERHVERV_LOG_FORMAT", "json")
	if raw := get("ERHVERV_DATA_KEY", ""); raw != "" {
		key, err := ParseDataKey(raw)
		if err != nil {
			errs = append(errs, &Error{"ERHVERV_DATA_KEY", err.Error()})
		}
		c.DataKey = key
	}
	if b, err := strconv.ParseBool(get("ERHVERV_MIGRATE_ON_START", "false")); err != nil {
		errs = append(errs, &Error{"ERHVERV_MIGRATE_ON_START", "must be true or false"})
	} else {
		c.MigrateOnStart = b
	}
	c.PolicyDir = get("ERHVERV_POLICY_DIR", "")
	if d, err := time.ParseDuration(get("ERHVERV_SHUTDOWN_TIMEOUT", "20s")); err != nil || d <= 0 {
		errs = append(errs, &Error{"ERHVERV_SHUTDOWN_TIMEOUT", "must be a positive duration such as 20s"})
	} else {
		c.ShutdownTimeout = d
	}
	if n, err := strconv.Atoi(get("ERHVERV_DB_MAX_CONNS", "10")); err != nil || n < 1 || n > 1000 {
		errs = append(errs, &Error{"ERHVERV_DB_MAX_CONNS", "must be a whole number from 1 to 1000"})
	} else {
		c.DBMaxConns = int32(n)
	}

	c.Broker = Broker{
		Issuer:           get("ERHVERV_BROKER_ISSUER", ""),
		ClientID:         get("ERHVERV_BROKER_CLIENT_ID", ""),
		ClientSecret:     getenv("ERHVERV_BROKER_CLIENT_SECRET"),
		Profile:          get("ERHVERV_BROKER_PROFILE", "oiosaml"),
		MinLevelAdmin:    get("ERHVERV_BROKER_MIN_LEVEL_ADMIN", "Substantial"),
		MinLevelConnect:  get("ERHVERV_BROKER_MIN_LEVEL_CONNECT", "Substantial"),
		MinLevelActivate: get("ERHVERV_BROKER_MIN_LEVEL_ACTIVATE", "Substantial"),
	}
	for _, d := range []struct {
		name, def string
		into      *time.Duration
	}{
		{"ERHVERV_SESSION_IDLE_TIMEOUT", "30m", &c.Session.IdleTimeout},
		{"ERHVERV_SESSION_LIFETIME", "8h", &c.Session.Lifetime},
	} {
		if v, err := time.ParseDuration(get(d.name, d.def)); err != nil || v < time.Minute {
			errs = append(errs, &Error{d.name, "must be a duration of at least 1m such as 30m or 8h"})
		} else {
			*d.into = v
		}
	}
	c.SMTP = SMTP{
		Addr:     get("ERHVERV_SMTP_ADDR", ""),
		Username: get("ERHVERV_SMTP_USERNAME", ""),
		Password: getenv("ERHVERV_SMTP_PASSWORD"),
		From:     get("ERHVERV_SMTP_FROM", "erhverv <noreply@erhverv.localhost>"),
		TLS:      get("ERHVERV_SMTP_TLS", "starttls"),
	}
	c.CVRRegisterFile = get("ERHVERV_CVR_REGISTER_FILE", "")
	for name, into := range map[string]*bool{
		"ERHVERV_WEBHOOK_ALLOW_HTTP": &c.Webhooks.AllowHTTP, "ERHVERV_WEBHOOK_ALLOW_PRIVATE": &c.Webhooks.AllowPrivateNetworks,
	} {
		b, err := strconv.ParseBool(get(name, "false"))
		if err != nil {
			errs = append(errs, &Error{name, "must be true or false"})
		}
		*into = b
	}
	return c, errs
}

// validateBroker checks the login settings; an unset issuer is allowed (no
// login), anything else must be complete and sensible.
func (c *Config) validateBroker() error {
	b := c.Broker
	for _, l := range []struct{ name, value, floor string }{
		{"ERHVERV_BROKER_MIN_LEVEL_ADMIN", b.MinLevelAdmin, "Substantial"},
		{"ERHVERV_BROKER_MIN_LEVEL_CONNECT", b.MinLevelConnect, "Substantial"},
		{"ERHVERV_BROKER_MIN_LEVEL_ACTIVATE", b.MinLevelActivate, "Low"},
	} {
		n, ok := levels[l.value]
		if !ok {
			return &Error{l.name, fmt.Sprintf("must be Low, Substantial or High, got %q", l.value)}
		}
		if n < levels[l.floor] {
			return &Error{l.name, fmt.Sprintf("must be at least %s, got %q", l.floor, l.value)}
		}
	}
	switch b.Profile {
	case "oiosaml", "signaturgruppen", "idura":
	default:
		return &Error{"ERHVERV_BROKER_PROFILE", fmt.Sprintf("must be oiosaml, signaturgruppen or idura, got %q", b.Profile)}
	}
	if b.Issuer == "" {
		return nil
	}
	u, err := url.Parse(b.Issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &Error{"ERHVERV_BROKER_ISSUER", fmt.Sprintf("must be the broker's absolute issuer URL such as https://broker.example.dk, got %q", b.Issuer)}
	}
	if b.ClientID == "" {
		return &Error{"ERHVERV_BROKER_CLIENT_ID", "is not set; give the client id the broker issued for this platform"}
	}
	return nil
}

func (c *Config) validateSMTP() error {
	switch c.SMTP.TLS {
	case "starttls", "tls", "none":
	default:
		return &Error{"ERHVERV_SMTP_TLS", fmt.Sprintf("must be starttls, tls or none, got %q", c.SMTP.TLS)}
	}
	if c.SMTP.Addr != "" {
		if _, port, err := net.SplitHostPort(c.SMTP.Addr); err != nil || port == "" {
			return &Error{"ERHVERV_SMTP_ADDR", fmt.Sprintf("must be host:port such as smtp.example.dk:587, got %q", c.SMTP.Addr)}
		}
	}
	if c.SMTP.Password != "" && c.SMTP.Username == "" {
		return &Error{"ERHVERV_SMTP_USERNAME", "is not set but ERHVERV_SMTP_PASSWORD is; give both or neither"}
	}
	if _, err := mail.ParseAddress(c.SMTP.From); err != nil {
		return &Error{"ERHVERV_SMTP_FROM", fmt.Sprintf("must be an email address such as \"erhverv <noreply@example.dk>\", got %q", c.SMTP.From)}
	}
	return nil
}

// SetLogLevel parses debug, info, warn or error.
func (c *Config) SetLogLevel(s string) error {
	switch strings.ToLower(s) {
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "info":
		c.LogLevel = slog.LevelInfo
	case "warn", "warning":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		return fmt.Errorf("must be debug, info, warn or error, got %q", s)
	}
	return nil
}

// ParseBaseURL accepts an absolute http(s) URL without query or fragment.
func ParseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("must be an absolute http or https URL such as https://erhverv.example.dk, got %q", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("must not have a query or fragment, got %q", raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

// ParseDataKey decodes a base64 (standard or URL alphabet) 32-byte key.
func ParseDataKey(raw string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(raw); err == nil {
			if len(key) != 32 {
				return nil, fmt.Errorf("must be 32 bytes in base64, got %d bytes (generate one with `openssl rand -base64 32`)", len(key))
			}
			return key, nil
		}
	}
	return nil, fmt.Errorf("must be base64 (generate one with `openssl rand -base64 32`)")
}

// ValidateDatabase checks only what every database command needs.
func (c *Config) ValidateDatabase() error {
	if c.DatabaseURL == "" {
		return &Error{"DATABASE_URL", "is not set; give a PostgreSQL URL such as postgres://user@127.0.0.1:5432/erhverv"}
	}
	u, err := url.Parse(c.DatabaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return &Error{"DATABASE_URL", "must be a postgres:// URL"}
	}
	return nil
}

// ValidateServe checks everything `serve` needs and fills in derived
// defaults (the base URL from the address).
func (c *Config) ValidateServe() error {
	if err := c.ValidateDatabase(); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return &Error{"ERHVERV_ADDR", fmt.Sprintf("must be host:port such as 127.0.0.1:8080, got %q", c.Addr)}
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return &Error{"ERHVERV_ADDR", fmt.Sprintf("port must be a number from 0 to 65535, got %q", port)}
	}
	if c.BaseURL == nil {
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		c.BaseURL = &url.URL{Scheme: "http", Host: net.JoinHostPort(host, port)}
	}
	if err := c.ValidateDataKey(); err != nil {
		return err
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return &Error{"ERHVERV_LOG_FORMAT", fmt.Sprintf("must be json or text, got %q", c.LogFormat)}
	}
	if c.Session.Lifetime < c.Session.IdleTimeout {
		return &Error{"ERHVERV_SESSION_LIFETIME", "must not be shorter than ERHVERV_SESSION_IDLE_TIMEOUT"}
	}
	if err := c.validateBroker(); err != nil {
		return err
	}
	return c.validateSMTP()
}

// ValidateDataKey checks that the CPR data key is present.
func (c *Config) ValidateDataKey() error {
	if len(c.DataKey) == 0 {
		return &Error{"ERHVERV_DATA_KEY", "is not set; generate one with `openssl rand -base64 32` and keep it secret"}
	}
	return nil
}

// SecureCookies reports whether cookies must carry the Secure attribute.
func (c *Config) SecureCookies() bool { return c.BaseURL != nil && c.BaseURL.Scheme == "https" }
