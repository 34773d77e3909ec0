-- The runtime role (palisade_app) may read and write rows but owns nothing, so row-level security
-- always applies to it and it can never ALTER, DROP or disable a policy. The role itself is created
-- by the deployment (tools/stack locally); migrations run as the owner role (palisade_owner).
-- Default privileges come first, so every table the later migrations create is covered.
GRANT USAGE ON SCHEMA public TO palisade_app;--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO palisade_app;--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO palisade_app;--> statement-breakpoint
-- Row-level security reads the request's scope from two transaction-local settings, which
-- withTenant() and withPlatform() (libs/db/src/scope.ts) set with set_config(..., true):
--   app.tenant_id  the tenant whose rows this transaction may see and write;
--   app.scope      'platform' for operator and system paths, which are audited.
-- An unset or empty setting matches nothing, so a query outside any scope sees no tenant rows.
CREATE OR REPLACE FUNCTION app_current_tenant() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;--> statement-breakpoint
CREATE OR REPLACE FUNCTION app_is_platform() RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT coalesce(current_setting('app.scope', true), '') = 'platform' $$;
