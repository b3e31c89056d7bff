-- +goose Up
-- Organisations (companies, identified by CVR number), their production units
-- (P-numbers) and SE-numbers. Identifier formats and checksums are enforced
-- here as well as in Go, so no path into the database can store a bad one.

-- +goose StatementBegin
CREATE FUNCTION erhverv_set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

-- erhverv_cvr_valid checks a CVR number: eight digits whose weighted sum with
-- weights 2,7,6,5,4,3,2,1 is divisible by 11 (modulus 11).
-- +goose StatementBegin
CREATE FUNCTION erhverv_cvr_valid(cvr text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN cvr ~ '^[0-9]{8}$' THEN
        (  2 * substr(cvr, 1, 1)::int + 7 * substr(cvr, 2, 1)::int
         + 6 * substr(cvr, 3, 1)::int + 5 * substr(cvr, 4, 1)::int
         + 4 * substr(cvr, 5, 1)::int + 3 * substr(cvr, 6, 1)::int
         + 2 * substr(cvr, 7, 1)::int + 1 * substr(cvr, 8, 1)::int) % 11 = 0
    ELSE false END
$$;
-- +goose StatementEnd

CREATE TABLE organisations (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    cvr                   text NOT NULL,
    name                  text NOT NULL,
    status                text NOT NULL DEFAULT 'pending',
    is_service_provider   boolean NOT NULL DEFAULT false,
    allow_private_mitid   boolean NOT NULL DEFAULT false,
    mandatory_user_fields text[] NOT NULL DEFAULT '{}',
    notification_email    text,
    notify_on_requests    boolean NOT NULL DEFAULT true,
    connected_at          timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organisations_cvr_key UNIQUE (cvr),
    CONSTRAINT organisations_cvr_check CHECK (erhverv_cvr_valid(cvr)),
    CONSTRAINT organisations_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    CONSTRAINT organisations_status_check CHECK (status IN ('pending', 'active', 'suspended', 'closed')),
    CONSTRAINT organisations_mandatory_fields_check
        CHECK (mandatory_user_fields <@ ARRAY['phone', 'production_unit', 'se_number', 'employee_number', 'department']::text[]),
    CONSTRAINT organisations_notification_email_check
        CHECK (notification_email IS NULL OR notification_email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
    CONSTRAINT organisations_connected_check CHECK (status = 'pending' OR connected_at IS NOT NULL)
);
CREATE TRIGGER organisations_updated_at BEFORE UPDATE ON organisations
    FOR EACH ROW EXECUTE FUNCTION erhverv_set_updated_at();

CREATE TABLE production_units (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id     uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    p_number   text NOT NULL,
    name       text NOT NULL,
    address    text NOT NULL DEFAULT '',
    status     text NOT NULL DEFAULT 'active',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT production_units_p_number_key UNIQUE (p_number),
    -- (org_id, id) is referenced by composite foreign keys, so a row of one
    -- organisation can never point at another organisation's unit.
    CONSTRAINT production_units_org_id_id_key UNIQUE (org_id, id),
    CONSTRAINT production_units_p_number_check CHECK (p_number ~ '^[0-9]{10}$'),
    CONSTRAINT production_units_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    CONSTRAINT production_units_status_check CHECK (status IN ('active', 'closed'))
);
CREATE TRIGGER production_units_updated_at BEFORE UPDATE ON production_units
    FOR EACH ROW EXECUTE FUNCTION erhverv_set_updated_at();

CREATE TABLE se_numbers (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id     uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    se_number  text NOT NULL,
    name       text NOT NULL,
    status     text NOT NULL DEFAULT 'active',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT se_numbers_se_number_key UNIQUE (se_number),
    CONSTRAINT se_numbers_org_id_id_key UNIQUE (org_id, id),
    CONSTRAINT se_numbers_se_number_check CHECK (se_number ~ '^[0-9]{8}$'),
    CONSTRAINT se_numbers_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    CONSTRAINT se_numbers_status_check CHECK (status IN ('active', 'closed'))
);
CREATE TRIGGER se_numbers_updated_at BEFORE UPDATE ON se_numbers
    FOR EACH ROW EXECUTE FUNCTION erhverv_set_updated_at();

-- +goose Down
DROP TABLE se_numbers;
DROP TABLE production_units;
DROP TABLE organisations;
DROP FUNCTION erhverv_cvr_valid(text);
DROP FUNCTION erhverv_set_updated_at();
