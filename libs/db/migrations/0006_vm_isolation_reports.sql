CREATE TABLE "vm_isolation_reports" (
	"vm_id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"host_id" uuid,
	"measured_at" timestamp with time zone,
	"report" jsonb,
	"weakenings" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "vm_isolation_reports" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "vm_isolation_reports" ADD CONSTRAINT "vm_isolation_reports_vm_id_vms_id_fk" FOREIGN KEY ("vm_id") REFERENCES "public"."vms"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vm_isolation_reports" ADD CONSTRAINT "vm_isolation_reports_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE POLICY "vm_isolation_reports_tenant_isolation" ON "vm_isolation_reports" AS PERMISSIVE FOR ALL TO public USING (tenant_id = app_current_tenant() OR app_is_platform()) WITH CHECK (tenant_id = app_current_tenant() OR app_is_platform());