-- +goose Up
-- Business identities (a person's professional role in one organisation), the
-- links from a broker's person login to them, one-time activation tokens and
-- administrator role assignments.

CREATE TABLE users (
    -- id is the professional UUID: persistent, global, never reused. Deleted
    -- users keep their row (with personal data erased) so it stays unique.
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id             uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    first_name         text NOT NULL,
    last_name          text NOT NULL,
    email              text NOT NULL,
    phone              text,
    -- The CPR number is never stored in clear: cpr_hmac is a keyed hash used
    -- to match it at activation, cpr_ciphertext is AES-256-GCM for the rare
    -- case it must be shown to someone allowed to see it.
    cpr_hmac           bytea,
    cpr_ciphertext     bytea,
    -- birth_date is always known: from the CPR, or entered for foreign staff;
    -- only deletion erases it.
    birth_date         date,
    production_unit_id uuid,
    se_number_id       uuid,
    anonymous          boolean NOT NULL DEFAULT false,
    status             text NOT NULL DEFAULT 'pending',
    extra_fields       jsonb NOT NULL DEFAULT '{}',
    version            integer NOT NULL DEFAULT 1,
    activated_at       timestamptz,
    deactivated_at     timestamptz,
    deleted_at         timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_org_id_id_key UNIQUE (org_id, id),
    CONSTRAINT users_first_name_check CHECK (length(btrim(first_name)) BETWEEN 1 AND 100 OR status = 'deleted'),
    CONSTRAINT users_last_name_check CHECK (length(btrim(last_name)) BETWEEN 1 AND 100 OR status = 'deleted'),
    CONSTRAINT users_email_check CHECK (email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' OR status = 'deleted'),
    CONSTRAINT users_phone_check CHECK (phone IS NULL OR phone ~ '^\+?[0-9]{8,15}$'),
    CONSTRAINT users_cpr_pair_check CHECK ((cpr_hmac IS NULL) = (cpr_ciphertext IS NULL)),
    CONSTRAINT users_cpr_hmac_check CHECK (cpr_hmac IS NULL OR length(cpr_hmac) = 32),
    CONSTRAINT users_birth_date_check CHECK (birth_date >= DATE '1880-01-01' OR (birth_date IS NULL AND status = 'deleted')),
    CONSTRAINT users_unit_check CHECK (production_unit_id IS NULL OR se_number_id IS NULL),
    CONSTRAINT users_status_check CHECK (status IN ('pending', 'active', 'deactivated', 'deleted')),
    CONSTRAINT users_extra_fields_check CHECK (jsonb_typeof(extra_fields) = 'object'),
    CONSTRAINT users_version_check CHECK (version >= 1),
    CONSTRAINT users_activated_check CHECK (status = 'pending' OR status = 'deleted' OR activated_at IS NOT NULL),
    CONSTRAINT users_production_unit_fkey FOREIGN KEY (org_id, production_unit_id)
        REFERENCES production_units (org_id, id),
    CONSTRAINT users_se_number_fkey FOREIGN KEY (org_id, se_number_id)
        REFERENCES se_numbers (org_id, id)
);
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION erhverv_set_updated_at();
-- One person has at most one living business identity per organisation.
CREATE UNIQUE INDEX users_org_cpr_key ON users (org_id, cpr_hmac)
    WHERE cpr_hmac IS NOT NULL AND status <> 'deleted';
-- The list page sorts by name with keyset pagination and filters by status.
CREATE INDEX users_org_name_idx ON users (org_id, last_name, first_name, id);
CREATE INDEX users_org_status_idx ON users (org_id, status);
CREATE INDEX users_org_email_idx ON users (org_id, lower(email));
CREATE INDEX users_production_unit_idx ON users (production_unit_id) WHERE production_unit_id IS NOT NULL;
CREATE INDEX users_se_number_idx ON users (se_number_id) WHERE se_number_id IS NOT NULL;

-- person_links ties a broker's person login (issuer + subject) to a business
-- identity. It is made at activation.
CREATE TABLE person_links (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id         uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    user_id        uuid NOT NULL,
    broker_issuer  text NOT NULL,
    broker_subject text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT person_links_user_key UNIQUE (user_id),
    -- A person has at most one business identity in one organisation.
    CONSTRAINT person_links_subject_org_key UNIQUE (broker_issuer, broker_subject, org_id),
    CONSTRAINT person_links_subject_check CHECK (length(broker_subject) BETWEEN 1 AND 255),
    CONSTRAINT person_links_user_fkey FOREIGN KEY (org_id, user_id)
        REFERENCES users (org_id, id) ON DELETE CASCADE
);
CREATE INDEX person_links_subject_idx ON person_links (broker_issuer, broker_subject);
CREATE TRIGGER person_links_updated_at BEFORE UPDATE ON person_links
    FOR EACH ROW EXECUTE FUNCTION erhverv_set_updated_at();

-- activation_tokens are single-use secrets: an emailed link (for a user with
-- a CPR, and for the first organisation administrator) or a one-time code an
-- administrator hands over. Only a hash of the secret is stored.
CREATE TABLE activation_tokens (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id     uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL,
    kind       text NOT NULL,
    token_hash bytea NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT activation_tokens_token_hash_key UNIQUE (token_hash),
    CONSTRAINT activation_tokens_kind_check CHECK (kind IN ('email_link', 'code', 'first_admin_link')),
    CONSTRAINT activation_tokens_hash_check CHECK (length(token_hash) = 32),
    CONSTRAINT activation_tokens_expiry_check CHECK (expires_at > created_at),
    CONSTRAINT activation_tokens_user_fkey FOREIGN KEY (org_id, user_id)
        REFERENCES users (org_id, id) ON DELETE CASCADE
);
CREATE INDEX activation_tokens_user_idx ON activation_tokens (user_id);
CREATE INDEX activation_tokens_org_expiry_idx ON activation_tokens (org_id, expires_at) WHERE used_at IS NULL;
CREATE TRIGGER activation_tokens_updated_at BEFORE UPDATE ON activation_tokens
    FOR EACH ROW EXECUTE FUNCTION erhverv_set_updated_at();

-- admin_roles assigns an administrator role to a business identity, optionally
-- limited to one production unit and to a period [valid_from, valid_to).
CREATE TABLE admin_roles (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id             uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    user_id            uuid NOT NULL,
    role               text NOT NULL,
    production_unit_id uuid,
    valid_from         timestamptz,
    valid_to           timestamptz,
    granted_by         uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT admin_roles_role_check CHECK (role IN ('org_admin', 'user_admin', 'rights_admin')),
    CONSTRAINT admin_roles_period_check CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from),
    -- An organisation administrator administers the whole organisation.
    CONSTRAINT admin_roles_org_admin_unscoped_check CHECK (role <> 'org_admin' OR production_unit_id IS NULL),
    CONSTRAINT admin_roles_user_fkey FOREIGN KEY (org_id, user_id)
        REFERENCES users (org_id, id) ON DELETE CASCADE,
    CONSTRAINT admin_roles_production_unit_fkey FOREIGN KEY (org_id, production_unit_id)
        REFERENCES production_units (org_id, id) ON DELETE CASCADE,
    CONSTRAINT admin_roles_user_role_unit_key UNIQUE NULLS NOT DISTINCT (user_id, role, production_unit_id)
);
CREATE INDEX admin_roles_org_role_idx ON admin_roles (org_id, role);
CREATE TRIGGER admin_roles_updated_at BEFORE UPDATE ON admin_roles
    FOR EACH ROW EXECUTE FUNCTION erhverv_set_updated_at();

-- +goose Down
DROP TABLE admin_roles;
DROP TABLE activation_tokens;
DROP TABLE person_links;
DROP TABLE users;
