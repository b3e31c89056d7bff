-- +goose Up
-- The users page searches names and email addresses for a part of a word
-- (LIKE '%term%'); trigram indexes keep that fast in organisations with
-- 100,000 users. pg_trgm is a trusted extension: the database owner may
-- create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_name_trgm_idx ON users USING gin (lower(first_name || ' ' || last_name) gin_trgm_ops);
CREATE INDEX users_email_trgm_idx ON users USING gin (lower(email) gin_trgm_ops);

-- +goose Down
DROP INDEX users_email_trgm_idx;
DROP INDEX users_name_trgm_idx;
