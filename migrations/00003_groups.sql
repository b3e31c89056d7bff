-- +goose Up
-- User groups of an organisation. Members may belong to other organisations
-- (added by CVR and email), so a membership records the member's own org_id.

CREATE TABLE user_groups (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id             uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name               text NOT NULL,
    description        text NOT NULL DEFAULT '',
    production_unit_id uuid,
    se_number_id       uuid,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_groups_org_id_id_key UNIQUE (org_id, id),
    CONSTRAINT user_groups_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    CONSTRAINT user_groups_description_check CHECK (length(description) <= 1000),
    CONSTRAINT user_groups_unit_check CHECK (production_unit_id IS NULL OR se_number_id IS NULL),
    CONSTRAINT user_groups_production_unit_fkey FOREIGN KEY (org_id, production_unit_id)
        REFERENCES production_units (org_id, id),
    CONSTRAINT user_groups_se_number_fkey FOREIGN KEY (org_id, se_number_id)
        REFERENCES se_numbers (org_id, id)
);
CREATE UNIQUE INDEX user_groups_org_name_key ON user_groups (org_id, lower(name));
CREATE TRIGGER user_groups_updated_at BEFORE UPDATE ON user_groups
    FOR EACH ROW EXECUTE FUNCTION erhverv_set_updated_at();

CREATE TABLE group_members (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- org_id is the group's organisation (the owner of this row).
    org_id        uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    group_id      uuid NOT NULL,
    user_id       uuid NOT NULL,
    member_org_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    added_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT group_members_group_user_key UNIQUE (group_id, user_id),
    CONSTRAINT group_members_group_fkey FOREIGN KEY (org_id, group_id)
        REFERENCES user_groups (org_id, id) ON DELETE CASCADE,
    CONSTRAINT group_members_user_fkey FOREIGN KEY (member_org_id, user_id)
        REFERENCES users (org_id, id) ON DELETE CASCADE
);
CREATE INDEX group_members_user_idx ON group_members (user_id);
CREATE INDEX group_members_org_idx ON group_members (org_id);
CREATE TRIGGER group_members_updated_at BEFORE UPDATE ON group_members
    FOR EACH ROW EXECUTE FUNCTION erhverv_set_updated_at();

-- +goose Down
DROP TABLE group_members;
DROP TABLE user_groups;
