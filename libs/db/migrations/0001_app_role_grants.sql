-- The runtime role (palisade_app) may read and write rows but owns nothing, so row-level security
-- applies to it and it can never ALTER, DROP or disable a policy. The role itself is created by the
-- deployment (tools/stack locally); migrations run as the owner role (palisade_owner).
GRANT USAGE ON SCHEMA public TO palisade_app;--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO palisade_app;--> statement-breakpoint
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO palisade_app;--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO palisade_app;--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO palisade_app;
