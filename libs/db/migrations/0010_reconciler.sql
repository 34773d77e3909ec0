CREATE TYPE "public"."vm_restart_policy" AS ENUM('always', 'never');--> statement-breakpoint
CREATE TYPE "public"."quarantine_kind" AS ENUM('domain', 'volume', 'segment');--> statement-breakpoint
CREATE TYPE "public"."quarantine_reason" AS ENUM('foreign', 'no_row', 'other_host', 'no_network');--> statement-breakpoint
CREATE TABLE "quarantined_items" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"host_id" uuid NOT NULL,
	"kind" "quarantine_kind" NOT NULL,
	"ref" text NOT NULL,
	"name" text,
	"reason" "quarantine_reason" NOT NULL,
	"vm_id" text,
	"tenant_id" text,
	"state" text,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"resolved_at" timestamp with time zone,
	CONSTRAINT "quarantined_items_host_ref" UNIQUE("host_id","kind","ref")
);
--> statement-breakpoint
ALTER TABLE "quarantined_items" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "reconcile_reports" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone DEFAULT now() NOT NULL,
	"worker" text NOT NULL,
	"findings" integer DEFAULT 0 NOT NULL,
	"summary" jsonb NOT NULL
);
--> statement-breakpoint
ALTER TABLE "reconcile_reports" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "vms" ADD COLUMN "restart_policy" "vm_restart_policy" DEFAULT 'always' NOT NULL;--> statement-breakpoint
ALTER TABLE "quarantined_items" ADD CONSTRAINT "quarantined_items_host_id_hosts_id_fk" FOREIGN KEY ("host_id") REFERENCES "public"."hosts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "reconcile_reports_started" ON "reconcile_reports" USING btree ("started_at");--> statement-breakpoint
CREATE POLICY "quarantined_items_platform_all" ON "quarantined_items" AS PERMISSIVE FOR ALL TO public USING (app_is_platform()) WITH CHECK (app_is_platform());--> statement-breakpoint
CREATE POLICY "reconcile_reports_platform_all" ON "reconcile_reports" AS PERMISSIVE FOR ALL TO public USING (app_is_platform()) WITH CHECK (app_is_platform());