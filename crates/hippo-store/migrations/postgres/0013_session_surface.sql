-- A session works only on the surface it was issued for (issue 12): the
-- browser form issues `web` sessions (the cookie), the JSON login `api`
-- sessions (the bearer token). Sessions from before this migration cannot
-- say where they came from; they become `api` and a browser signs in again.
ALTER TABLE sessions ADD COLUMN surface TEXT NOT NULL DEFAULT 'api'
    CHECK (surface IN ('web', 'api'));
