-- +goose Up
-- Cache invalidation for the runtime rights decision: every change that
-- affects an identity's grants signals channel erhverv_rights, which every
-- replica LISTENs on (internal/rights, listen.go). NOTIFY is delivered on
-- commit, never for a rolled-back change, and identical payloads of one
-- transaction are delivered once. Payloads are small:
--
--   u:<user id>       the user's assignments, memberships or status changed
--   g:<group id>      a group's assignments, name or restriction changed
--   p:<privilege id>  a privilege (or its IT system's name) changed
--   a:<poa id>        a power of attorney or its privileges changed
--   *                 something many identities show changed: drop everything
--
-- Only the columns that reach a grant fire a trigger: a bulk import that
-- inserts users, or edits their names, signals nothing.

-- +goose StatementBegin
CREATE FUNCTION erhverv_rights_notify_holder() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- privilege_assignments (a user or a group holds it) and group_members.
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('erhverv_rights', CASE WHEN OLD.user_id IS NOT NULL
            THEN 'u:' || OLD.user_id ELSE 'g:' || OLD.group_id END);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('erhverv_rights', CASE WHEN NEW.user_id IS NOT NULL
            THEN 'u:' || NEW.user_id ELSE 'g:' || NEW.group_id END);
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER privilege_assignments_rights_notify
    AFTER INSERT OR UPDATE OR DELETE ON privilege_assignments
    FOR EACH ROW EXECUTE FUNCTION erhverv_rights_notify_holder();
CREATE TRIGGER group_members_rights_notify
    AFTER INSERT OR UPDATE OR DELETE ON group_members
    FOR EACH ROW EXECUTE FUNCTION erhverv_rights_notify_holder();

-- +goose StatementBegin
CREATE FUNCTION erhverv_rights_notify_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    prefix text := TG_ARGV[0];
    r record;
BEGIN
    -- users (u:), user_groups (g:), privileges (p:): the row's own id.
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    PERFORM pg_notify('erhverv_rights', prefix || ':' || r.id);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER users_rights_notify_status
    AFTER UPDATE OF status ON users
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION erhverv_rights_notify_row('u');
CREATE TRIGGER users_rights_notify_delete
    AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION erhverv_rights_notify_row('u');

CREATE TRIGGER user_groups_rights_notify_update
    AFTER UPDATE OF name, production_unit_id, se_number_id ON user_groups
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name
        OR OLD.production_unit_id IS DISTINCT FROM NEW.production_unit_id
        OR OLD.se_number_id IS DISTINCT FROM NEW.se_number_id)
    EXECUTE FUNCTION erhverv_rights_notify_row('g');
CREATE TRIGGER user_groups_rights_notify_delete
    AFTER DELETE ON user_groups
    FOR EACH ROW EXECUTE FUNCTION erhverv_rights_notify_row('g');

CREATE TRIGGER privileges_rights_notify_update
    AFTER UPDATE OF uri, name_da, name_en, min_loa, status, it_system_id ON privileges
    FOR EACH ROW WHEN (OLD.uri IS DISTINCT FROM NEW.uri
        OR OLD.name_da IS DISTINCT FROM NEW.name_da
        OR OLD.name_en IS DISTINCT FROM NEW.name_en
        OR OLD.min_loa IS DISTINCT FROM NEW.min_loa
        OR OLD.status IS DISTINCT FROM NEW.status
        OR OLD.it_system_id IS DISTINCT FROM NEW.it_system_id)
    EXECUTE FUNCTION erhverv_rights_notify_row('p');
CREATE TRIGGER privileges_rights_notify_delete
    AFTER DELETE ON privileges
    FOR EACH ROW EXECUTE FUNCTION erhverv_rights_notify_row('p');

-- +goose StatementBegin
CREATE FUNCTION erhverv_rights_notify_poa() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The grantee user too: a power of attorney naming a person who holds
    -- nothing through it yet is in no cache's index under a:.
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('erhverv_rights', 'a:' || OLD.id);
        IF OLD.grantee_user_id IS NOT NULL THEN
            PERFORM pg_notify('erhverv_rights', 'u:' || OLD.grantee_user_id);
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('erhverv_rights', 'a:' || NEW.id);
        IF NEW.grantee_user_id IS NOT NULL THEN
            PERFORM pg_notify('erhverv_rights', 'u:' || NEW.grantee_user_id);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER powers_of_attorney_rights_notify_insert
    AFTER INSERT ON powers_of_attorney
    FOR EACH ROW WHEN (NEW.grantee_user_id IS NOT NULL)
    EXECUTE FUNCTION erhverv_rights_notify_poa();
CREATE TRIGGER powers_of_attorney_rights_notify_update
    AFTER UPDATE OF status, valid_from, valid_to, grantee_user_id, scope_kind, scope_value ON powers_of_attorney
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
        OR OLD.valid_from IS DISTINCT FROM NEW.valid_from
        OR OLD.valid_to IS DISTINCT FROM NEW.valid_to
        OR OLD.grantee_user_id IS DISTINCT FROM NEW.grantee_user_id
        OR OLD.scope_kind IS DISTINCT FROM NEW.scope_kind
        OR OLD.scope_value IS DISTINCT FROM NEW.scope_value)
    EXECUTE FUNCTION erhverv_rights_notify_poa();
CREATE TRIGGER powers_of_attorney_rights_notify_delete
    AFTER DELETE ON powers_of_attorney
    FOR EACH ROW EXECUTE FUNCTION erhverv_rights_notify_poa();

-- +goose StatementBegin
CREATE FUNCTION erhverv_rights_notify_poa_privilege() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    poa uuid;
BEGIN
    FOR poa IN SELECT DISTINCT x FROM unnest(ARRAY[
        CASE WHEN TG_OP <> 'INSERT' THEN OLD.poa_id END,
        CASE WHEN TG_OP <> 'DELETE' THEN NEW.poa_id END]) AS x WHERE x IS NOT NULL
    LOOP
        PERFORM pg_notify('erhverv_rights', 'a:' || poa);
        -- A named person may hold nothing through it yet (see above).
        PERFORM pg_notify('erhverv_rights', 'u:' || grantee_user_id)
            FROM powers_of_attorney WHERE id = poa AND grantee_user_id IS NOT NULL;
    END LOOP;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER poa_privileges_rights_notify
    AFTER INSERT OR UPDATE OR DELETE ON poa_privileges
    FOR EACH ROW EXECUTE FUNCTION erhverv_rights_notify_poa_privilege();

-- Names shown in grants' explanations (IT systems, organisations as
-- grantors, providers and group owners) and the units scopes resolve to.
-- +goose StatementBegin
CREATE FUNCTION erhverv_rights_notify_it_system() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('erhverv_rights', 'p:' || id) FROM privileges WHERE it_system_id = NEW.id;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER it_systems_rights_notify
    AFTER UPDATE OF name ON it_systems
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION erhverv_rights_notify_it_system();

-- +goose StatementBegin
CREATE FUNCTION erhverv_rights_notify_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('erhverv_rights', '*');
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER organisations_rights_notify
    AFTER UPDATE OF name, cvr ON organisations
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.cvr IS DISTINCT FROM NEW.cvr)
    EXECUTE FUNCTION erhverv_rights_notify_all();
CREATE TRIGGER production_units_rights_notify_update
    AFTER UPDATE OF p_number, org_id ON production_units
    FOR EACH ROW WHEN (OLD.p_number IS DISTINCT FROM NEW.p_number OR OLD.org_id IS DISTINCT FROM NEW.org_id)
    EXECUTE FUNCTION erhverv_rights_notify_all();
CREATE TRIGGER production_units_rights_notify_delete
    AFTER DELETE ON production_units
    FOR EACH ROW EXECUTE FUNCTION erhverv_rights_notify_all();
CREATE TRIGGER se_numbers_rights_notify_update
    AFTER UPDATE OF se_number, org_id ON se_numbers
    FOR EACH ROW WHEN (OLD.se_number IS DISTINCT FROM NEW.se_number OR OLD.org_id IS DISTINCT FROM NEW.org_id)
    EXECUTE FUNCTION erhverv_rights_notify_all();
CREATE TRIGGER se_numbers_rights_notify_delete
    AFTER DELETE ON se_numbers
    FOR EACH ROW EXECUTE FUNCTION erhverv_rights_notify_all();

-- The loader finds the powers of attorney that name a user.
CREATE INDEX powers_of_attorney_grantee_user_idx ON powers_of_attorney (grantee_user_id)
    WHERE grantee_user_id IS NOT NULL;

-- +goose Down
DROP INDEX powers_of_attorney_grantee_user_idx;
DROP TRIGGER se_numbers_rights_notify_delete ON se_numbers;
DROP TRIGGER se_numbers_rights_notify_update ON se_numbers;
DROP TRIGGER production_units_rights_notify_delete ON production_units;
DROP TRIGGER production_units_rights_notify_update ON production_units;
DROP TRIGGER organisations_rights_notify ON organisations;
DROP FUNCTION erhverv_rights_notify_all();
DROP TRIGGER it_systems_rights_notify ON it_systems;
DROP FUNCTION erhverv_rights_notify_it_system();
DROP TRIGGER poa_privileges_rights_notify ON poa_privileges;
DROP FUNCTION erhverv_rights_notify_poa_privilege();
DROP TRIGGER powers_of_attorney_rights_notify_delete ON powers_of_attorney;
DROP TRIGGER powers_of_attorney_rights_notify_update ON powers_of_attorney;
DROP TRIGGER powers_of_attorney_rights_notify_insert ON powers_of_attorney;
DROP FUNCTION erhverv_rights_notify_poa();
DROP TRIGGER privileges_rights_notify_delete ON privileges;
DROP TRIGGER privileges_rights_notify_update ON privileges;
DROP TRIGGER user_groups_rights_notify_delete ON user_groups;
DROP TRIGGER user_groups_rights_notify_update ON user_groups;
DROP TRIGGER users_rights_notify_delete ON users;
DROP TRIGGER users_rights_notify_status ON users;
DROP FUNCTION erhverv_rights_notify_row();
DROP TRIGGER group_members_rights_notify ON group_members;
DROP TRIGGER privilege_assignments_rights_notify ON privilege_assignments;
DROP FUNCTION erhverv_rights_notify_holder();
