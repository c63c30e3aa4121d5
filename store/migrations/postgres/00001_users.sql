-- Users of store.kind: sql. Names compare and sort byte by byte (COLLATE "C"), as in every other
-- store, whatever the database's default collation. cost is the bcrypt cost, read from the hash,
-- and indexed: every login reads the highest one, for the dummy compare of unknown users.

-- +goose Up
CREATE TABLE tokengate_users (
    name          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    password_hash TEXT NOT NULL,
    cost          INTEGER GENERATED ALWAYS AS (CAST(substr(password_hash, 5, 2) AS INTEGER)) STORED,
    roles         TEXT NOT NULL DEFAULT '[]',
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX tokengate_users_cost ON tokengate_users (cost);

-- +goose Down
DROP TABLE tokengate_users;
