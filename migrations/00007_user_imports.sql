-- +goose Up
-- Bulk import of users from a CSV file: an upload is read, checked and
-- staged here, row by row; the administrator sees a preview with every row's
-- problems and confirms, and the staged rows are applied to users in one
-- transaction. Staging in PostgreSQL (not on a replica's disk) lets the
-- confirmation land on any replica. Staged rows hold personal data, so they
-- live only until the import is applied or expires (see docs/IMPORT.md).

CREATE TABLE user_imports (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id           uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    -- Only the administrator who uploaded a file sees and confirms it.
    uploaded_by      uuid NOT NULL,
    file_name        text NOT NULL DEFAULT '',
    file_size        bigint NOT NULL,
    file_sha256      bytea NOT NULL,
    -- The file's columns by position: canonical names ('' for an ignored
    -- column) and the headings as the file wrote them.
    columns          text[] NOT NULL,
    headings         text[] NOT NULL,
    status           text NOT NULL DEFAULT 'pending',
    rows_total       integer NOT NULL DEFAULT 0,
    creates          integer NOT NULL DEFAULT 0,
    updates          integer NOT NULL DEFAULT 0,
    unchanged        integer NOT NULL DEFAULT 0,
    deactivations    integer NOT NULL DEFAULT 0,
    deletions        integer NOT NULL DEFAULT 0,
    rows_with_errors integer NOT NULL DEFAULT 0,
    expires_at       timestamptz NOT NULL,
    applied_at       timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_imports_org_id_id_key UNIQUE (org_id, id),
    CONSTRAINT user_imports_uploaded_by_fkey FOREIGN KEY (org_id, uploaded_by)
        REFERENCES users (org_id, id) ON DELETE CASCADE,
    CONSTRAINT user_imports_status_check CHECK (status IN ('pending', 'applied')),
    CONSTRAINT user_imports_applied_check CHECK ((status = 'applied') = (applied_at IS NOT NULL)),
    CONSTRAINT user_imports_file_name_check CHECK (length(file_name) <= 255),
    CONSTRAINT user_imports_file_size_check CHECK (file_size >= 0),
    CONSTRAINT user_imports_sha256_check CHECK (length(file_sha256) = 32),
    CONSTRAINT user_imports_columns_check CHECK (cardinality(columns) = cardinality(headings)),
    CONSTRAINT user_imports_counts_check CHECK (rows_total >= 0 AND creates >= 0 AND updates >= 0 AND unchanged >= 0
        AND deactivations >= 0 AND deletions >= 0 AND rows_with_errors >= 0)
);
CREATE INDEX user_imports_org_uploader_idx ON user_imports (org_id, uploaded_by, created_at DESC);
CREATE INDEX user_imports_expires_idx ON user_imports (expires_at);
CREATE TRIGGER user_imports_updated_at BEFORE UPDATE ON user_imports
    FOR EACH ROW EXECUTE FUNCTION erhverv_set_updated_at();

-- One staged row per data row of the file, checked. NULL in a person column
-- means the file has no such column (an update leaves the value alone); ''
-- means the cell is empty (an update removes an optional value). The CPR
-- number is kept only as the users table keeps it: a keyed hash and a sealed
-- copy. The rows share their import's timestamps.
CREATE TABLE user_import_rows (
    import_id          uuid NOT NULL,
    org_id             uuid NOT NULL,
    -- The row's line in the file (the heading row is 1).
    row_no             integer NOT NULL,
    -- '' when the row's action could not be read.
    action             text NOT NULL DEFAULT '',
    -- The user the row is about; for a create, the new user's UUID.
    user_id            uuid,
    first_name         text,
    last_name          text,
    email              text,
    phone              text,
    cpr_hmac           bytea,
    cpr_ciphertext     bytea,
    birth_date         date,
    production_unit_id uuid,
    se_number_id       uuid,
    employee_number    text,
    department         text,
    -- [{"c": column, "k": message key, "m": English message, "r": other row, "s": status}]
    errors             jsonb NOT NULL DEFAULT '[]',
    -- Filled by the checks against users: the target's status, and for an
    -- update the fields it changes (before and after; {} when none).
    user_status        text,
    before             jsonb,
    after              jsonb,
    CONSTRAINT user_import_rows_pkey PRIMARY KEY (import_id, row_no),
    CONSTRAINT user_import_rows_import_fkey FOREIGN KEY (org_id, import_id)
        REFERENCES user_imports (org_id, id) ON DELETE CASCADE,
    CONSTRAINT user_import_rows_action_check CHECK (action IN ('', 'create', 'update', 'deactivate', 'delete')),
    CONSTRAINT user_import_rows_errors_check CHECK (jsonb_typeof(errors) = 'array'),
    CONSTRAINT user_import_rows_cpr_pair_check CHECK ((cpr_hmac IS NULL) = (cpr_ciphertext IS NULL)),
    CONSTRAINT user_import_rows_cpr_hmac_check CHECK (cpr_hmac IS NULL OR length(cpr_hmac) = 32)
);
-- The preview pages through the rows with problems.
CREATE INDEX user_import_rows_errors_idx ON user_import_rows (import_id, row_no) WHERE errors <> '[]'::jsonb;

-- +goose Down
DROP TABLE user_import_rows;
DROP TABLE user_imports;
