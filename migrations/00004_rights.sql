-- +goose Up
-- Rights: IT systems of service providers, the privileges they publish,
-- powers of attorney between organisations, privilege assignments and
-- rights requests.

CREATE TABLE it_systems (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- org_id is the service provider that owns the system.
    org_id      uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    status      text NOT NULL DEFAULT 'active',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT it_systems_org_id_id_key UNIQUE (org_id, id),
    CONSTRAINT it_systems_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    CONSTRAINT it_systems_status_check CHECK (status IN ('active', 'retired'))
);
CREATE UNIQUE INDEX it_systems_org_name_key ON it_systems (org_id, lower(name));
CREATE TRIGGER it_systems_updated_at BEFORE UPDATE ON it_systems
    FOR EACH ROW EXECUTE FUNCTION erhverv_set_updated_at();

CREATE TABLE privileges (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id           uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    it_system_id     uuid NOT NULL,
    uri              text NOT NULL,
    name_da          text NOT NULL,
    name_en          text NOT NULL,
    description_da   text NOT NULL DEFAULT '',
    description_en   text NOT NULL DEFAULT '',
    constraint_types text[] NOT NULL DEFAULT '{}',
    min_loa          text NOT NULL DEFAULT 'substantial',
    group_assignable boolean NOT NULL DEFAULT true,
    needs_approval   boolean NOT NULL DEFAULT true,
    status           text NOT NULL DEFAULT 'active',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- A privilege URI is global: services receive it without the provider.
    CONSTRAINT privileges_uri_key UNIQUE (uri),
    CONSTRAINT privileges_uri_check CHECK (uri ~ '^(urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:\S+|https?://\S+)$' AND length(uri) <= 500),
    CONSTRAINT privileges_name_check CHECK (length(btrim(name_da)) BETWEEN 1 AND 200 AND length(btrim(name_en)) BETWEEN 1 AND 200),
    CONSTRAINT privileges_min_loa_check CHECK (min_loa IN ('low', 'substantial', 'high')),
    CONSTRAINT privileges_status_check CHECK (status IN ('active', 'retired')),
    CONSTRAINT privileges_it_system_fkey FOREIGN KEY (org_id, it_system_id)
        REFERENCES it_systems (org_id, id) ON DELETE CASCADE
);
CREATE INDEX privileges_it_system_idx ON privileges (it_system_id);
CREATE INDEX privileges_org_idx ON privileges (org_id);
CREATE TRIGGER privileges_updated_at BEFORE UPDATE ON privileges
    FOR EACH ROW EXECUTE FUNCTION erhverv_set_updated_at();

-- A power of attorney: organisation org_id (A, the grantor) lets grantee_org_id
-- (B), or one named person in B, use a set of A's privileges within a scope.
CREATE TABLE powers_of_attorney (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id          uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    grantee_org_id  uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    grantee_user_id uuid,
    status          text NOT NULL,
    scope_kind      text NOT NULL DEFAULT 'cvr',
    scope_value     text NOT NULL,
    valid_from      timestamptz,
    valid_to        timestamptz,
    requested_by    uuid REFERENCES users (id) ON DELETE SET NULL,
    granted_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    accepted_by     uuid REFERENCES users (id) ON DELETE SET NULL,
    ended_by        uuid REFERENCES users (id) ON DELETE SET NULL,
    ended_at        timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- Referenced by composite foreign keys, so a row can only point at a
    -- power of attorney its own organisation is a party to.
    CONSTRAINT powers_of_attorney_org_id_id_key UNIQUE (org_id, id),
    CONSTRAINT powers_of_attorney_grantee_org_id_id_key UNIQUE (grantee_org_id, id),
    CONSTRAINT powers_of_attorney_parties_check CHECK (org_id <> grantee_org_id),
    CONSTRAINT powers_of_attorney_status_check CHECK (status IN ('requested', 'offered', 'active', 'rejected', 'ended')),
    CONSTRAINT powers_of_attorney_scope_check CHECK (
        (scope_kind = 'cvr' AND erhverv_cvr_valid(scope_value)) OR
        (scope_kind = 'p' AND scope_value ~ '^[0-9]{10}$') OR
        (scope_kind = 'se' AND scope_value ~ '^[0-9]{8}$')),
    CONSTRAINT powers_of_attorney_period_check CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from),
    CONSTRAINT powers_of_attorney_ended_check CHECK ((status = 'ended') = (ended_at IS NOT NULL)),
    CONSTRAINT powers_of_attorney_grantee_user_fkey FOREIGN KEY (grantee_org_id, grantee_user_id)
        REFERENCES users (org_id, id) ON DELETE CASCADE
);
CREATE INDEX powers_of_attorney_org_idx ON powers_of_attorney (org_id, status);
CREATE INDEX powers_of_attorney_grantee_idx ON powers_of_attorney (grantee_org_id, status);
CREATE TRIGGER powers_of_attorney_updated_at BEFORE UPDATE ON powers_of_attorney
    FOR EACH ROW EXECUTE FUNCTION erhverv_set_updated_at();

-- The privileges a power of attorney carries, with the constraint values that
-- bound what the grantee may pass on.
CREATE TABLE poa_privileges (
    poa_id            uuid NOT NULL,
    -- org_id is the grantor's, the power of attorney's own org_id.
    org_id            uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    privilege_id      uuid NOT NULL REFERENCES privileges (id) ON DELETE CASCADE,
    constraint_values jsonb NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (poa_id, privilege_id),
    CONSTRAINT poa_privileges_poa_fkey FOREIGN KEY (org_id, poa_id)
        REFERENCES powers_of_attorney (org_id, id) ON DELETE CASCADE,
    CONSTRAINT poa_privileges_constraints_check CHECK (jsonb_typeof(constraint_values) = 'object')
);
CREATE INDEX poa_privileges_org_idx ON poa_privileges (org_id);
CREATE TRIGGER poa_privileges_updated_at BEFORE UPDATE ON poa_privileges
    FOR EACH ROW EXECUTE FUNCTION erhverv_set_updated_at();

-- A privilege assigned by organisation org_id to one of its users or groups,
-- for a scope (the whole CVR, one P-number, one SE-number), with constraint
-- values and an optional period. via_poa_id marks a privilege passed on from a
-- power of attorney the organisation received (the composite key makes sure it
-- is the grantee); deleting the power of attorney deletes the assignment, and
-- ending it must end the assignment too (the rights service's job).
CREATE TABLE privilege_assignments (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id            uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    privilege_id      uuid NOT NULL REFERENCES privileges (id) ON DELETE CASCADE,
    user_id           uuid,
    group_id          uuid,
    scope_kind        text NOT NULL DEFAULT 'cvr',
    scope_value       text NOT NULL,
    constraint_values jsonb NOT NULL DEFAULT '{}',
    valid_from        timestamptz,
    valid_to          timestamptz,
    granted_by        uuid REFERENCES users (id) ON DELETE SET NULL,
    via_poa_id        uuid,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT privilege_assignments_holder_check CHECK ((user_id IS NULL) <> (group_id IS NULL)),
    CONSTRAINT privilege_assignments_scope_check CHECK (
        (scope_kind = 'cvr' AND erhverv_cvr_valid(scope_value)) OR
        (scope_kind = 'p' AND scope_value ~ '^[0-9]{10}$') OR
        (scope_kind = 'se' AND scope_value ~ '^[0-9]{8}$')),
    CONSTRAINT privilege_assignments_constraints_check CHECK (jsonb_typeof(constraint_values) = 'object'),
    CONSTRAINT privilege_assignments_period_check CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from),
    CONSTRAINT privilege_assignments_user_fkey FOREIGN KEY (org_id, user_id)
        REFERENCES users (org_id, id) ON DELETE CASCADE,
    CONSTRAINT privilege_assignments_group_fkey FOREIGN KEY (org_id, group_id)
        REFERENCES user_groups (org_id, id) ON DELETE CASCADE,
    CONSTRAINT privilege_assignments_poa_fkey FOREIGN KEY (org_id, via_poa_id)
        REFERENCES powers_of_attorney (grantee_org_id, id) ON DELETE CASCADE
);
CREATE INDEX privilege_assignments_user_idx ON privilege_assignments (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX privilege_assignments_group_idx ON privilege_assignments (group_id) WHERE group_id IS NOT NULL;
CREATE INDEX privilege_assignments_org_privilege_idx ON privilege_assignments (org_id, privilege_id);
CREATE INDEX privilege_assignments_poa_idx ON privilege_assignments (via_poa_id) WHERE via_poa_id IS NOT NULL;
CREATE TRIGGER privilege_assignments_updated_at BEFORE UPDATE ON privilege_assignments
    FOR EACH ROW EXECUTE FUNCTION erhverv_set_updated_at();

-- A user's request for a privilege or an administrator role.
CREATE TABLE rights_requests (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id             uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    requester_id       uuid NOT NULL,
    kind               text NOT NULL,
    privilege_id       uuid REFERENCES privileges (id) ON DELETE CASCADE,
    role               text,
    production_unit_id uuid,
    scope_kind         text,
    scope_value        text,
    constraint_values  jsonb NOT NULL DEFAULT '{}',
    reason             text NOT NULL,
    status             text NOT NULL DEFAULT 'pending',
    decided_by         uuid REFERENCES users (id) ON DELETE SET NULL,
    decided_at         timestamptz,
    decision_comment   text NOT NULL DEFAULT '',
    expires_at         timestamptz NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rights_requests_kind_check CHECK (
        (kind = 'privilege' AND privilege_id IS NOT NULL AND role IS NULL) OR
        (kind = 'admin_role' AND role IN ('org_admin', 'user_admin', 'rights_admin') AND privilege_id IS NULL)),
    CONSTRAINT rights_requests_reason_check CHECK (length(btrim(reason)) BETWEEN 10 AND 2000),
    CONSTRAINT rights_requests_status_check CHECK (status IN ('pending', 'approved', 'rejected', 'expired', 'withdrawn')),
    -- No one decides their own request.
    CONSTRAINT rights_requests_not_own_check CHECK (decided_by IS NULL OR decided_by <> requester_id),
    CONSTRAINT rights_requests_decided_check CHECK ((status IN ('approved', 'rejected')) = (decided_at IS NOT NULL)),
    CONSTRAINT rights_requests_scope_check CHECK (scope_kind IS NULL OR scope_kind IN ('cvr', 'p', 'se')),
    CONSTRAINT rights_requests_requester_fkey FOREIGN KEY (org_id, requester_id)
        REFERENCES users (org_id, id) ON DELETE CASCADE,
    CONSTRAINT rights_requests_production_unit_fkey FOREIGN KEY (org_id, production_unit_id)
        REFERENCES production_units (org_id, id) ON DELETE CASCADE
);
CREATE INDEX rights_requests_org_status_idx ON rights_requests (org_id, status, created_at);
CREATE INDEX rights_requests_requester_idx ON rights_requests (requester_id);
CREATE INDEX rights_requests_pending_expiry_idx ON rights_requests (expires_at) WHERE status = 'pending';
CREATE TRIGGER rights_requests_updated_at BEFORE UPDATE ON rights_requests
    FOR EACH ROW EXECUTE FUNCTION erhverv_set_updated_at();

-- +goose Down
DROP TABLE rights_requests;
DROP TABLE privilege_assignments;
DROP TABLE poa_privileges;
DROP TABLE powers_of_attorney;
DROP TABLE privileges;
DROP TABLE it_systems;
