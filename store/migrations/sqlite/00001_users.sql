-- Users of store.kind: sql. SQLite compares TEXT byte by byte (BINARY) unless told otherwise, as
-- every other store does. cost is the bcrypt cost, read from the hash, and indexed: every login
-- reads the highest one, for the dummy compare of unknown users.

-- +goose Up
CREATE TABLE tokengate_users (
    name          TEXT NOT NULL PRIMARY KEY,
    password_hash TEXT NOT NULL,
    cost          INTEGER GENERATED ALWAYS AS (CAST(substr(password_hash, 5, 2) AS INTEGER)) STORED,
    roles         TEXT NOT NULL DEFAULT '[]',
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at    TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
) STRICT;
CREATE INDEX tokengate_users_cost ON tokengate_users (cost);

-- +goose Down
DROP TABLE tokengate_users;
