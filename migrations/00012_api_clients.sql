-- +goose Up
-- The integrators' access: API clients of an organisation, the keys that sign
-- access tokens, the single-use record of client assertions, and the stored
-- answers of idempotent creates.

-- An API client acts for its organisation with the scopes it was given. It
-- authenticates with a secret (only its SHA-256 is stored: the secret is 32
-- random bytes, so a slow password hash would add nothing but latency) or
-- with a signed assertion verified against its public key (private_key_jwt).
CREATE TABLE api_clients (
    id                uuid PRIMARY KEY,
    org_id            uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name              text NOT NULL,
    scopes            text[] NOT NULL,
    auth_method       text NOT NULL,
    secret_hash       bytea,
    public_jwk        jsonb,
    rate_limit        integer NOT NULL DEFAULT 100,
    created_by        uuid REFERENCES users (id) ON DELETE SET NULL,
    created_by_label  text NOT NULL DEFAULT '',
    revoked_at        timestamptz,
    revoked_by_label  text NOT NULL DEFAULT '',
    last_used_at      timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT api_clients_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    CONSTRAINT api_clients_scopes_check CHECK (cardinality(scopes) >= 1),
    CONSTRAINT api_clients_auth_method_check CHECK (auth_method IN ('client_secret', 'private_key_jwt')),
    CONSTRAINT api_clients_secret_check CHECK (
        (auth_method = 'client_secret') = (secret_hash IS NOT NULL AND length(secret_hash) = 32)),
    CONSTRAINT api_clients_key_check CHECK (
        (auth_method = 'private_key_jwt') = (public_jwk IS NOT NULL AND jsonb_typeof(public_jwk) = 'object')),
    CONSTRAINT api_clients_rate_limit_check CHECK (rate_limit BETWEEN 1 AND 100000)
);
CREATE INDEX api_clients_org_idx ON api_clients (org_id, created_at);
CREATE TRIGGER api_clients_updated_at BEFORE UPDATE ON api_clients
    FOR EACH ROW EXECUTE FUNCTION erhverv_set_updated_at();

-- The keys that sign access tokens (ES256). A key is published in the JWKS
-- from its creation, signs from active_from (so verifiers have fetched it
-- before the first token it signs), and stays published until retire_after
-- (the last token it signed has expired). The private key is sealed with the
-- data key.
CREATE TABLE token_signing_keys (
    kid           text PRIMARY KEY,
    algorithm     text NOT NULL DEFAULT 'ES256',
    private_key   bytea NOT NULL,
    public_jwk    jsonb NOT NULL,
    active_from   timestamptz NOT NULL,
    retire_after  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT token_signing_keys_algorithm_check CHECK (algorithm = 'ES256'),
    CONSTRAINT token_signing_keys_kid_check CHECK (kid ~ '^[A-Za-z0-9_-]{8,64}$'),
    CONSTRAINT token_signing_keys_window_check CHECK (retire_after IS NULL OR retire_after > active_from)
);

-- A client assertion (private_key_jwt) is used once: its jti is kept until it
-- expires.
CREATE TABLE client_assertion_jtis (
    client_id   uuid NOT NULL REFERENCES api_clients (id) ON DELETE CASCADE,
    jti         text NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX client_assertion_jtis_expiry_idx ON client_assertion_jtis (expires_at);

-- Idempotency-Key: the first answer to a create is stored and replayed for a
-- retry with the same key and body. status is NULL while the first request
-- is still being answered.
CREATE TABLE idempotency_keys (
    client_id     uuid NOT NULL REFERENCES api_clients (id) ON DELETE CASCADE,
    key           text NOT NULL,
    method        text NOT NULL,
    path          text NOT NULL,
    request_hash  bytea NOT NULL,
    status        integer,
    content_type  text NOT NULL DEFAULT '',
    location      text NOT NULL DEFAULT '',
    etag          text NOT NULL DEFAULT '',
    body          bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, key),
    CONSTRAINT idempotency_keys_key_check CHECK (length(key) BETWEEN 1 AND 255)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE client_assertion_jtis;
DROP TABLE token_signing_keys;
DROP TABLE api_clients;
