-- +goose Up
-- The tamper-evident audit log, portal sessions and the transactional outbox.

-- Each organisation has its own hash chain; events of no organisation (such as
-- a failed login before anyone is known) form the platform chain, org_id NULL.
-- hash = SHA-256(prev_hash || canonical event), computed in Go; verification
-- recomputes the chain. audit_chain_heads serialises appends per chain.
CREATE TABLE audit_chain_heads (
    chain_key  uuid PRIMARY KEY,
    seq        bigint NOT NULL,
    hash       bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id       uuid REFERENCES organisations (id) ON DELETE RESTRICT,
    chain_key    uuid NOT NULL,
    seq          bigint NOT NULL,
    occurred_at  timestamptz NOT NULL,
    actor_id     uuid,
    actor_label  text NOT NULL DEFAULT '',
    action       text NOT NULL,
    target_type  text NOT NULL DEFAULT '',
    target_id    text NOT NULL DEFAULT '',
    details      jsonb NOT NULL DEFAULT '{}',
    request_id   text NOT NULL DEFAULT '',
    prev_hash    bytea NOT NULL,
    hash         bytea NOT NULL,
    CONSTRAINT audit_events_chain_seq_key UNIQUE (chain_key, seq),
    CONSTRAINT audit_events_chain_check CHECK (chain_key = COALESCE(org_id, '00000000-0000-0000-0000-000000000000'::uuid)),
    CONSTRAINT audit_events_seq_check CHECK (seq >= 1),
    CONSTRAINT audit_events_hash_check CHECK (length(hash) = 32 AND length(prev_hash) = 32),
    CONSTRAINT audit_events_action_check CHECK (action ~ '^[a-z][a-z0-9_.]{1,99}$'),
    CONSTRAINT audit_events_details_check CHECK (jsonb_typeof(details) = 'object')
);
CREATE INDEX audit_events_org_time_idx ON audit_events (org_id, occurred_at DESC);
CREATE INDEX audit_events_org_actor_idx ON audit_events (org_id, actor_id);
CREATE INDEX audit_events_org_target_idx ON audit_events (org_id, target_id);

-- The audit log is append-only.
-- +goose StatementBegin
CREATE FUNCTION erhverv_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION erhverv_audit_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION erhverv_audit_append_only();

-- Portal sessions, in the schema of the session store (alexedwards/scs pgxstore).
CREATE TABLE sessions (
    token  text PRIMARY KEY,
    data   bytea NOT NULL,
    expiry timestamptz NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);

-- The outbox: messages (emails, webhooks, change events) written in the same
-- transaction as the change they announce, delivered by a background worker.
CREATE TABLE outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id       uuid REFERENCES organisations (id) ON DELETE CASCADE,
    topic        text NOT NULL,
    payload      jsonb NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    available_at timestamptz NOT NULL DEFAULT now(),
    last_error   text NOT NULL DEFAULT '',
    processed_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT outbox_topic_check CHECK (topic ~ '^[a-z][a-z0-9_.]{1,99}$'),
    CONSTRAINT outbox_attempts_check CHECK (attempts >= 0)
);
CREATE INDEX outbox_pending_idx ON outbox (available_at) WHERE processed_at IS NULL;
CREATE INDEX outbox_org_idx ON outbox (org_id);
CREATE TRIGGER outbox_updated_at BEFORE UPDATE ON outbox
    FOR EACH ROW EXECUTE FUNCTION erhverv_set_updated_at();

-- +goose Down
DROP TABLE outbox;
DROP TABLE sessions;
DROP TRIGGER audit_events_no_truncate ON audit_events;
DROP TRIGGER audit_events_append_only ON audit_events;
DROP FUNCTION erhverv_audit_append_only();
DROP TABLE audit_events;
DROP TABLE audit_chain_heads;
