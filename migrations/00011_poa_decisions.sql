-- +goose Up
-- Powers of attorney: the reason an organisation gives when it asks another
-- for one, and who rejected one (the grantor a request, the grantee an
-- offer) with the comment that tells the other side why.
ALTER TABLE powers_of_attorney
    ADD COLUMN reason           text NOT NULL DEFAULT '',
    ADD COLUMN decided_by       uuid REFERENCES users (id) ON DELETE SET NULL,
    ADD COLUMN decided_at       timestamptz,
    ADD COLUMN decision_comment text NOT NULL DEFAULT '',
    ADD CONSTRAINT powers_of_attorney_reason_check CHECK (
        length(reason) <= 2000 AND (status <> 'requested' OR length(btrim(reason)) >= 10)),
    ADD CONSTRAINT powers_of_attorney_comment_check CHECK (length(decision_comment) <= 2000),
    ADD CONSTRAINT powers_of_attorney_rejected_check CHECK ((status = 'rejected') = (decided_at IS NOT NULL));

-- +goose Down
ALTER TABLE powers_of_attorney
    DROP CONSTRAINT powers_of_attorney_rejected_check,
    DROP CONSTRAINT powers_of_attorney_comment_check,
    DROP CONSTRAINT powers_of_attorney_reason_check,
    DROP COLUMN decision_comment,
    DROP COLUMN decided_at,
    DROP COLUMN decided_by,
    DROP COLUMN reason;
