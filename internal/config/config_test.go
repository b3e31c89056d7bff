package config_test

import (
	"strings"
	"testing"

	"github.com/erhverv/erhverv/internal/config"
)

const goodKey = "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=" // 32 bytes of 'B'

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, errs := config.Load(env(map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1/erhverv", "ERHVERV_DATA_KEY": goodKey}))
	if len(errs) != 0 {
		t.Fatalf("Load: got %v, want no errors", errs)
	}
	if err := c.ValidateServe(); err != nil {
		t.Fatalf("ValidateServe: %v", err)
	}
	if c.Addr != "127.0.0.1:8080" || c.BaseURL.String() != "http://127.0.0.1:8080" || c.SecureCookies() {
		t.Errorf("defaults: got addr %q, base %q, secure %v; want 127.0.0.1:8080, http://127.0.0.1:8080, false", c.Addr, c.BaseURL, c.SecureCookies())
	}
}

func TestInvalidConfigurationNamesTheVariable(t *testing.T) {
	t.Parallel()
	base := map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1/erhverv", "ERHVERV_DATA_KEY": goodKey}
	broker := map[string]string{"ERHVERV_BROKER_ISSUER": "https://broker.example.dk", "ERHVERV_BROKER_CLIENT_ID": "erhverv"}
	cases := []struct {
		set, value, wantVar string
		also                map[string]string
	}{
		{"DATABASE_URL", "", "DATABASE_URL", nil},
		{"DATABASE_URL", "mysql://x", "DATABASE_URL", nil},
		{"ERHVERV_ADDR", "8080", "ERHVERV_ADDR", nil},
		{"ERHVERV_ADDR", "127.0.0.1:99999", "ERHVERV_ADDR", nil},
		{"ERHVERV_BASE_URL", "erhverv.example.dk", "ERHVERV_BASE_URL", nil},
		{"ERHVERV_DATA_KEY", "", "ERHVERV_DATA_KEY", nil},
		{"ERHVERV_DATA_KEY", "c2hvcnQ=", "ERHVERV_DATA_KEY", nil},
		{"ERHVERV_LOG_LEVEL", "loud", "ERHVERV_LOG_LEVEL", nil},
		{"ERHVERV_LOG_FORMAT", "xml", "ERHVERV_LOG_FORMAT", nil},
		{"ERHVERV_MIGRATE_ON_START", "maybe", "ERHVERV_MIGRATE_ON_START", nil},
		{"ERHVERV_SHUTDOWN_TIMEOUT", "-1s", "ERHVERV_SHUTDOWN_TIMEOUT", nil},
		{"ERHVERV_DB_MAX_CONNS", "0", "ERHVERV_DB_MAX_CONNS", nil},
		{"ERHVERV_BROKER_ISSUER", "broker.example.dk", "ERHVERV_BROKER_ISSUER", nil},
		{"ERHVERV_BROKER_CLIENT_ID", "", "ERHVERV_BROKER_CLIENT_ID", map[string]string{"ERHVERV_BROKER_ISSUER": "https://broker.example.dk"}},
		{"ERHVERV_BROKER_PROFILE", "saml", "ERHVERV_BROKER_PROFILE", broker},
		{"ERHVERV_BROKER_MIN_LEVEL_ADMIN", "Low", "ERHVERV_BROKER_MIN_LEVEL_ADMIN", broker},
		{"ERHVERV_BROKER_MIN_LEVEL_CONNECT", "Medium", "ERHVERV_BROKER_MIN_LEVEL_CONNECT", broker},
		{"ERHVERV_BROKER_MIN_LEVEL_ACTIVATE", "none", "ERHVERV_BROKER_MIN_LEVEL_ACTIVATE", broker},
		{"ERHVERV_SESSION_IDLE_TIMEOUT", "10s", "ERHVERV_SESSION_IDLE_TIMEOUT", nil},
		{"ERHVERV_SESSION_LIFETIME", "10m", "ERHVERV_SESSION_LIFETIME", nil},
		{"ERHVERV_SMTP_ADDR", "smtp.example.dk", "ERHVERV_SMTP_ADDR", nil},
		{"ERHVERV_SMTP_TLS", "maybe", "ERHVERV_SMTP_TLS", nil},
		{"ERHVERV_SMTP_FROM", "not an address", "ERHVERV_SMTP_FROM", nil},
		{"ERHVERV_SMTP_PASSWORD", "secret", "ERHVERV_SMTP_USERNAME", nil},
	}
	for _, c := range cases {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range c.also {
			m[k] = v
		}
		m[c.set] = c.value
		cfg, errs := config.Load(env(m))
		var err error
		if len(errs) > 0 {
			err = errs[0]
		} else {
			err = cfg.ValidateServe()
		}
		if err == nil {
			t.Errorf("%s=%q: got no error, want one naming %s", c.set, c.value, c.wantVar)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, c.wantVar) || strings.Contains(msg, "\n") {
			t.Errorf("%s=%q: got %q, want one line naming %s", c.set, c.value, msg, c.wantVar)
		}
	}
}

func TestHTTPSBaseURLMeansSecureCookies(t *testing.T) {
	t.Parallel()
	c, errs := config.Load(env(map[string]string{"DATABASE_URL": "postgres://x@h/db", "ERHVERV_DATA_KEY": goodKey, "ERHVERV_BASE_URL": "https://erhverv.example.dk/"}))
	if len(errs) != 0 || c.ValidateServe() != nil {
		t.Fatalf("Load: %v", errs)
	}
	if !c.SecureCookies() || c.BaseURL.String() != "https://erhverv.example.dk" {
		t.Errorf("got secure %v, base %q; want true, https://erhverv.example.dk", c.SecureCookies(), c.BaseURL)
	}
}
