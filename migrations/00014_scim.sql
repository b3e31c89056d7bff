-- +goose Up
-- SCIM provisioning (internal/api/scim): the identifier a company's directory
-- (Microsoft Entra ID, Okta) keeps for a user or a group, so the directory can
-- find its objects again by its own key. Unique per organisation; a deleted
-- user's is erased with the rest of its personal data, so the directory can
-- provision the same person again.
ALTER TABLE users ADD COLUMN external_id text;
ALTER TABLE users ADD CONSTRAINT users_external_id_check
    CHECK (external_id IS NULL OR length(external_id) BETWEEN 1 AND 255);
CREATE UNIQUE INDEX users_org_external_id_key ON users (org_id, external_id) WHERE external_id IS NOT NULL;

ALTER TABLE user_groups ADD COLUMN external_id text;
ALTER TABLE user_groups ADD CONSTRAINT user_groups_external_id_check
    CHECK (external_id IS NULL OR length(external_id) BETWEEN 1 AND 255);
CREATE UNIQUE INDEX user_groups_org_external_id_key ON user_groups (org_id, external_id) WHERE external_id IS NOT NULL;

-- Whoever deletes a user (the portal, the API, SCIM), the external id goes
-- with the names and the email.
-- +goose StatementBegin
CREATE FUNCTION erhverv_users_erase_external_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.external_id := NULL;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER users_erase_external_id BEFORE INSERT OR UPDATE ON users
    FOR EACH ROW WHEN (NEW.status = 'deleted' AND NEW.external_id IS NOT NULL)
    EXECUTE FUNCTION erhverv_users_erase_external_id();

-- +goose Down
DROP TRIGGER users_erase_external_id ON users;
DROP FUNCTION erhverv_users_erase_external_id();
DROP INDEX user_groups_org_external_id_key;
ALTER TABLE user_groups DROP COLUMN external_id;
DROP INDEX users_org_external_id_key;
ALTER TABLE users DROP COLUMN external_id;
