CREATE TABLE "vm_ssh_keys" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"vm_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"ssh_key_id" uuid,
	"name" text NOT NULL,
	"public_key" text NOT NULL,
	"fingerprint" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "vm_ssh_keys_vm_fingerprint" UNIQUE("vm_id","fingerprint"),
	CONSTRAINT "vm_ssh_keys_vm_position" UNIQUE("vm_id","position")
);
--> statement-breakpoint
ALTER TABLE "vm_ssh_keys" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "vm_ssh_keys" ADD CONSTRAINT "vm_ssh_keys_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vm_ssh_keys" ADD CONSTRAINT "vm_ssh_keys_vm_id_vms_id_fk" FOREIGN KEY ("vm_id") REFERENCES "public"."vms"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vm_ssh_keys" ADD CONSTRAINT "vm_ssh_keys_ssh_key_id_ssh_keys_id_fk" FOREIGN KEY ("ssh_key_id") REFERENCES "public"."ssh_keys"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE POLICY "vm_ssh_keys_tenant_isolation" ON "vm_ssh_keys" AS PERMISSIVE FOR ALL TO public USING (tenant_id = app_current_tenant() OR app_is_platform()) WITH CHECK (tenant_id = app_current_tenant() OR app_is_platform());