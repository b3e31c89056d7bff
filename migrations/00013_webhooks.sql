-- +goose Up
-- The change feed's push side: webhooks an organisation subscribes, and one
-- delivery per (webhook, change) with a log of every attempt.
--
-- The feed itself is a projection of the organisation's audit chain (every
-- change to users, groups and rights is audited in its own transaction, with
-- a gapless per-organisation seq), so it needs no table of its own. Which
-- actions belong to the feed is decided here once, by erhverv_feed_action,
-- and used by both the trigger below and the feed's query
-- (internal/postgres/changefeed.go).

-- +goose StatementBegin
CREATE FUNCTION erhverv_feed_action(action text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    -- Changes to the organisation's users, groups, administrator roles,
    -- assignments, rights requests and powers of attorney; never logins,
    -- exports, views or the platform's own housekeeping (users.exported and
    -- assignments.exported do not match: the families end with a dot).
    SELECT action ~ '^(user|group|admin_role|assignment|rights_request|poa)\.'
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION erhverv_webhook_event_types_valid(types text[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    -- Each entry is a family prefix ("user.") or one action ("user.created").
    SELECT coalesce(bool_and(t ~ '^(user|group|admin_role|assignment|rights_request|poa)\.([a-z][a-z0-9_.]{0,98})?$'), true)
    FROM unnest(types) AS t
$$;
-- +goose StatementEnd

-- A subscription. The secret signs every delivery (HMAC-SHA-256); it is
-- sealed with the data key because the platform must read it again to sign,
-- unlike an API client's secret, which is only ever compared. An empty
-- event_types means every change of the feed. active is false for a paused
-- webhook: no deliveries are enqueued for it.
CREATE TABLE webhooks (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id            uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    url               text NOT NULL,
    secret            bytea NOT NULL,
    event_types       text[] NOT NULL DEFAULT '{}',
    active            boolean NOT NULL DEFAULT true,
    created_by_label  text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhooks_org_id_key UNIQUE (org_id, id),
    CONSTRAINT webhooks_url_check CHECK (url ~ '^https?://[^/?#@\s]+' AND length(url) <= 2048),
    CONSTRAINT webhooks_secret_check CHECK (length(secret) BETWEEN 16 AND 1024),
    CONSTRAINT webhooks_event_types_check CHECK (
        cardinality(event_types) <= 50 AND erhverv_webhook_event_types_valid(event_types))
);
CREATE INDEX webhooks_org_idx ON webhooks (org_id, created_at);
CREATE TRIGGER webhooks_updated_at BEFORE UPDATE ON webhooks
    FOR EACH ROW EXECUTE FUNCTION erhverv_set_updated_at();

-- One delivery of one change (the audit event (org_id, event_seq)) to one
-- webhook. pending until a 2xx answer (delivered) or until the attempts run
-- out (failed). next_attempt_at is when it is due; while a dispatcher sends
-- it, it is pushed forward by a lease, so another replica takes it over only
-- if that dispatcher died.
CREATE TABLE webhook_deliveries (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id            uuid NOT NULL,
    webhook_id        uuid NOT NULL,
    event_seq         bigint NOT NULL,
    event_type        text NOT NULL,
    status            text NOT NULL DEFAULT 'pending',
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    last_status_code  integer,
    last_error        text NOT NULL DEFAULT '',
    last_duration_ms  integer,
    delivered_at      timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_deliveries_webhook_fkey FOREIGN KEY (org_id, webhook_id)
        REFERENCES webhooks (org_id, id) ON DELETE CASCADE,
    CONSTRAINT webhook_deliveries_event_key UNIQUE (webhook_id, event_seq),
    CONSTRAINT webhook_deliveries_status_check CHECK (status IN ('pending', 'delivered', 'failed')),
    CONSTRAINT webhook_deliveries_attempts_check CHECK (attempts >= 0),
    CONSTRAINT webhook_deliveries_seq_check CHECK (event_seq >= 1),
    CONSTRAINT webhook_deliveries_delivered_check CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
);
-- The dispatcher's query: due pending deliveries, oldest first.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- Pruning old, finished deliveries.
CREATE INDEX webhook_deliveries_created_idx ON webhook_deliveries (created_at) WHERE status <> 'pending';
CREATE TRIGGER webhook_deliveries_updated_at BEFORE UPDATE ON webhook_deliveries
    FOR EACH ROW EXECUTE FUNCTION erhverv_set_updated_at();

-- Every attempt, so the portal can show what the subscriber answered each
-- time. status_code is NULL when no answer came (refused, timed out).
CREATE TABLE webhook_delivery_attempts (
    delivery_id   uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt       integer NOT NULL,
    attempted_at  timestamptz NOT NULL,
    duration_ms   integer NOT NULL,
    status_code   integer,
    error         text NOT NULL DEFAULT '',
    PRIMARY KEY (delivery_id, attempt),
    CONSTRAINT webhook_delivery_attempts_attempt_check CHECK (attempt >= 1),
    CONSTRAINT webhook_delivery_attempts_duration_check CHECK (duration_ms >= 0),
    CONSTRAINT webhook_delivery_attempts_status_check CHECK (status_code IS NULL OR status_code BETWEEN 100 AND 599)
);

-- The outbox: a feed change enqueues its deliveries in the transaction that
-- appends its audit event, that is the transaction of the change itself, so
-- a change that rolls back sends nothing and one that commits is sent. The
-- NOTIFY (delivered at commit) wakes the dispatchers at once.
-- +goose StatementBegin
CREATE FUNCTION erhverv_webhooks_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    INSERT INTO webhook_deliveries (org_id, webhook_id, event_seq, event_type)
    SELECT w.org_id, w.id, NEW.seq, NEW.action
    FROM webhooks w
    WHERE w.org_id = NEW.org_id AND w.active
      AND (cardinality(w.event_types) = 0
           OR EXISTS (SELECT 1 FROM unnest(w.event_types) AS t WHERE starts_with(NEW.action, t)));
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM pg_notify('erhverv_webhooks', NEW.org_id::text);
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_webhooks AFTER INSERT ON audit_events
    FOR EACH ROW WHEN (NEW.org_id IS NOT NULL AND erhverv_feed_action(NEW.action))
    EXECUTE FUNCTION erhverv_webhooks_enqueue();

-- +goose Down
DROP TRIGGER audit_events_webhooks ON audit_events;
DROP FUNCTION erhverv_webhooks_enqueue();
DROP TABLE webhook_delivery_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP FUNCTION erhverv_webhook_event_types_valid(text[]);
DROP FUNCTION erhverv_feed_action(text);
