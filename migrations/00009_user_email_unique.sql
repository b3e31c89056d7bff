-- +goose Up
-- One living user per email address in an organisation. The services check
-- it first to give a field error; the index closes the race between two
-- creates at the same instant.
CREATE UNIQUE INDEX users_org_email_key ON users (org_id, lower(email)) WHERE status <> 'deleted';
DROP INDEX users_org_email_idx;

-- +goose Down
CREATE INDEX users_org_email_idx ON users (org_id, lower(email));
DROP INDEX users_org_email_key;
