package seed

import (
	"context"
	"fmt"
	"strings"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

// The demo service (cmd/demo-sp) logs in to Skattefar's Momsportalen with
// this client. Its secret is fixed so `make run` can hand it to the demo
// service; it is development data, like the demo people.
const (
	DemoServiceClientName = "Demo-tjeneste (cmd/demo-sp)"
	DemoServiceSecret     = postgres.OIDCSecretPrefix + "demo-service-development-only"
)

// DemoServiceClientID is the demo service's client id.
var DemoServiceClientID = ID("oidc:demo-sp")

// DemoServiceClient registers (or updates) the demo service's OIDC client
// for the demo service at baseURL (http://127.0.0.1:8070): minimum level
// Low, so the demo can show a step-up to Substantial, and OIOSAML 3 claim
// names. It returns the client id.
func DemoServiceClient(ctx context.Context, db *postgres.DB, baseURL string) (string, error) {
	baseURL = strings.TrimSuffix(baseURL, "/")
	redirect, postLogout := baseURL+"/callback", baseURL+"/"
	for field, u := range map[string]string{"redirect": redirect, "post-logout": postLogout} {
		if err := domain.ValidateRedirectURI(field, u); err != nil {
			return "", fmt.Errorf("demo service %s URI %q: %w", field, u, err)
		}
	}
	_, err := db.Pool().Exec(ctx, `INSERT INTO oidc_clients (id, org_id, it_system_id, name, redirect_uris,
		post_logout_redirect_uris, auth_method, secret_hash, min_level, claim_style, created_by_label)
		VALUES ($1, $2, $3, $4, ARRAY[$5], ARRAY[$6], 'client_secret_basic', $7, 'low', 'oiosaml3', 'seed')
		ON CONFLICT (id) DO UPDATE SET redirect_uris = EXCLUDED.redirect_uris,
			post_logout_redirect_uris = EXCLUDED.post_logout_redirect_uris, secret_hash = EXCLUDED.secret_hash, revoked_at = NULL`,
		DemoServiceClientID, ID("org:"+CVRSkattefar), ID("system:moms"), DemoServiceClientName, redirect, postLogout,
		postgres.HashSecret(DemoServiceSecret))
	if err != nil {
		return "", fmt.Errorf("demo service client: %w", err)
	}
	return DemoServiceClientID.String(), nil
}
