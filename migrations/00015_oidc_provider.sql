-- +goose Up
-- The platform as OpenID Provider for service providers: the OIDC clients a
-- service provider registers for its IT systems, the logins in flight and
-- the tokens issued from them, the single-use record of client assertions,
-- and the moment an administrator ended a user's sessions.

-- An OIDC client is one IT system's login: a service provider registers it
-- for a system it owns. A confidential client authenticates with a secret
-- (only its SHA-256 is stored: the secret is 32 random bytes) or with a
-- signed assertion verified against its public key; a public client has
-- neither and relies on PKCE alone.
CREATE TABLE oidc_clients (
    id                        uuid PRIMARY KEY,
    org_id                    uuid NOT NULL,
    it_system_id              uuid NOT NULL,
    name                      text NOT NULL,
    redirect_uris             text[] NOT NULL,
    post_logout_redirect_uris text[] NOT NULL DEFAULT '{}',
    auth_method               text NOT NULL,
    secret_hash               bytea,
    public_jwk                jsonb,
    min_level                 text NOT NULL DEFAULT 'substantial',
    claim_style               text NOT NULL DEFAULT 'oiosaml3',
    created_by                uuid REFERENCES users (id) ON DELETE SET NULL,
    created_by_label          text NOT NULL DEFAULT '',
    revoked_at                timestamptz,
    revoked_by_label          text NOT NULL DEFAULT '',
    last_login_at             timestamptz,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT oidc_clients_system_fkey FOREIGN KEY (org_id, it_system_id)
        REFERENCES it_systems (org_id, id) ON DELETE CASCADE,
    CONSTRAINT oidc_clients_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    CONSTRAINT oidc_clients_redirect_uris_check CHECK (cardinality(redirect_uris) BETWEEN 1 AND 10),
    CONSTRAINT oidc_clients_post_logout_check CHECK (cardinality(post_logout_redirect_uris) <= 10),
    CONSTRAINT oidc_clients_auth_method_check CHECK (auth_method IN ('client_secret_basic', 'private_key_jwt', 'none')),
    CONSTRAINT oidc_clients_secret_check CHECK (
        (auth_method = 'client_secret_basic') = (secret_hash IS NOT NULL AND length(secret_hash) = 32)),
    CONSTRAINT oidc_clients_key_check CHECK (
        (auth_method = 'private_key_jwt') = (public_jwk IS NOT NULL AND jsonb_typeof(public_jwk) = 'object')),
    CONSTRAINT oidc_clients_min_level_check CHECK (min_level IN ('low', 'substantial', 'high')),
    CONSTRAINT oidc_clients_claim_style_check CHECK (claim_style IN ('oiosaml3', 'short'))
);
CREATE INDEX oidc_clients_org_idx ON oidc_clients (org_id, created_at);
CREATE INDEX oidc_clients_system_idx ON oidc_clients (it_system_id);
CREATE TRIGGER oidc_clients_updated_at BEFORE UPDATE ON oidc_clients
    FOR EACH ROW EXECUTE FUNCTION erhverv_set_updated_at();

-- One login at a service, from the authorization request to the last token
-- issued from it. The request's parameters are kept as the provider parsed
-- them; the login (which business identity, at which level, when) is set
-- when the person has logged in and chosen the organisation. The code is
-- kept only as its SHA-256 and exchanged once; the access token names the
-- row, so ending a user's sessions or replaying a code revokes it. Rows are
-- swept once expires_at has passed.
CREATE TABLE oidc_grants (
    id                uuid PRIMARY KEY,
    client_id         uuid NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
    request           jsonb NOT NULL,
    required_level    text NOT NULL,
    user_id           uuid REFERENCES users (id) ON DELETE CASCADE,
    org_id            uuid,
    level             text,
    amr               text[],
    auth_time         timestamptz,
    completed_at      timestamptz,
    code_hash         bytea,
    code_exchanged_at timestamptz,
    tokens_expire_at  timestamptz,
    revoked_at        timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    expires_at        timestamptz NOT NULL,
    CONSTRAINT oidc_grants_level_check CHECK (required_level IN ('low', 'substantial', 'high')),
    CONSTRAINT oidc_grants_login_check CHECK ((completed_at IS NULL) = (user_id IS NULL))
);
CREATE UNIQUE INDEX oidc_grants_code_key ON oidc_grants (code_hash) WHERE code_hash IS NOT NULL;
CREATE INDEX oidc_grants_user_idx ON oidc_grants (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX oidc_grants_expires_idx ON oidc_grants (expires_at);

-- A client assertion (private_key_jwt) is used once: its jti is kept until
-- it expires.
CREATE TABLE oidc_assertion_jtis (
    client_id   uuid NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
    jti         text NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (client_id, jti)
);

-- When an administrator ended the user's sessions: a login (portal or
-- service) from before it no longer counts, and tokens from before it are
-- refused.
ALTER TABLE users ADD COLUMN sessions_ended_at timestamptz;

-- +goose Down
ALTER TABLE users DROP COLUMN sessions_ended_at;
DROP TABLE oidc_assertion_jtis;
DROP TABLE oidc_grants;
DROP TABLE oidc_clients;
