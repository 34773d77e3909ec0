-- Audit events are append-only for the runtime role: the default privileges granted UPDATE and
-- DELETE on every table; take them back here. Only the owner (a DBA, not the app) can rewrite history.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM palisade_app;
