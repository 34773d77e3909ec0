CREATE TYPE "public"."tenant_status" AS ENUM('active', 'suspended', 'deleting');--> statement-breakpoint
CREATE TYPE "public"."tenant_role" AS ENUM('owner', 'admin', 'member', 'viewer');--> statement-breakpoint
CREATE TYPE "public"."image_format" AS ENUM('qcow2', 'raw');--> statement-breakpoint
CREATE TYPE "public"."image_status" AS ENUM('pending', 'active', 'deprecated', 'deleted');--> statement-breakpoint
CREATE TYPE "public"."image_visibility" AS ENUM('public', 'tenant');--> statement-breakpoint
CREATE TYPE "public"."segment_type" AS ENUM('vlan', 'vxlan');--> statement-breakpoint
CREATE TYPE "public"."network_status" AS ENUM('pending', 'active', 'deleting', 'error');--> statement-breakpoint
CREATE TYPE "public"."acceleration" AS ENUM('kvm', 'tcg');--> statement-breakpoint
CREATE TYPE "public"."host_state" AS ENUM('enrolling', 'up', 'unreachable', 'draining', 'maintenance');--> statement-breakpoint
CREATE TYPE "public"."vm_desired_state" AS ENUM('running', 'stopped', 'deleted');--> statement-breakpoint
CREATE TYPE "public"."vm_observed_state" AS ENUM('building', 'starting', 'running', 'stopping', 'stopped', 'rebooting', 'migrating', 'error', 'unknown', 'deleting', 'deleted');--> statement-breakpoint
CREATE TYPE "public"."volume_status" AS ENUM('pending', 'available', 'attached', 'deleting', 'deleted', 'error');--> statement-breakpoint
CREATE TYPE "public"."snapshot_status" AS ENUM('pending', 'available', 'deleting', 'error');--> statement-breakpoint
CREATE TYPE "public"."operation_state" AS ENUM('pending', 'running', 'compensating', 'succeeded', 'failed', 'cancelled');--> statement-breakpoint
CREATE TYPE "public"."actor_type" AS ENUM('user', 'service', 'system');--> statement-breakpoint
CREATE TYPE "public"."audit_outcome" AS ENUM('success', 'failure', 'denied');--> statement-breakpoint
CREATE TYPE "public"."api_client_status" AS ENUM('active', 'revoked');--> statement-breakpoint
CREATE TABLE "tenants" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"status" "tenant_status" DEFAULT 'active' NOT NULL,
	"keycloak_group_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tenants_slug_unique" UNIQUE("slug"),
	CONSTRAINT "tenants_slug_format" CHECK ("tenants"."slug" ~ '^[a-z][a-z0-9-]{1,30}[a-z0-9]$')
);
--> statement-breakpoint
ALTER TABLE "tenants" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "memberships" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"subject" text NOT NULL,
	"email" text,
	"role" "tenant_role" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "memberships_tenant_subject" UNIQUE("tenant_id","subject")
);
--> statement-breakpoint
ALTER TABLE "memberships" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "quotas" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"vcpus" integer DEFAULT 0 NOT NULL,
	"ram_mib" integer DEFAULT 0 NOT NULL,
	"disk_gib" integer DEFAULT 0 NOT NULL,
	"vms" integer DEFAULT 0 NOT NULL,
	"volumes" integer DEFAULT 0 NOT NULL,
	"snapshots" integer DEFAULT 0 NOT NULL,
	"networks" integer DEFAULT 0 NOT NULL,
	"public_ips" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "quotas_non_negative" CHECK (vcpus >= 0 AND ram_mib >= 0 AND disk_gib >= 0 AND vms >= 0 AND volumes >= 0 AND snapshots >= 0 AND networks >= 0 AND public_ips >= 0)
);
--> statement-breakpoint
ALTER TABLE "quotas" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "tenant_usage" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"vcpus" integer DEFAULT 0 NOT NULL,
	"ram_mib" integer DEFAULT 0 NOT NULL,
	"disk_gib" integer DEFAULT 0 NOT NULL,
	"vms" integer DEFAULT 0 NOT NULL,
	"volumes" integer DEFAULT 0 NOT NULL,
	"snapshots" integer DEFAULT 0 NOT NULL,
	"networks" integer DEFAULT 0 NOT NULL,
	"public_ips" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tenant_usage_non_negative" CHECK (vcpus >= 0 AND ram_mib >= 0 AND disk_gib >= 0 AND vms >= 0 AND volumes >= 0 AND snapshots >= 0 AND networks >= 0 AND public_ips >= 0)
);
--> statement-breakpoint
ALTER TABLE "tenant_usage" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "flavors" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"vcpus" integer NOT NULL,
	"ram_mib" integer NOT NULL,
	"disk_gib" integer NOT NULL,
	"cpu_shares" integer DEFAULT 1024 NOT NULL,
	"cpu_period_us" integer DEFAULT 100000 NOT NULL,
	"cpu_quota_us" integer,
	"disk_iops" integer,
	"disk_bytes_sec" integer,
	"net_average_kbps" integer,
	"net_peak_kbps" integer,
	"svirt_required" boolean DEFAULT true NOT NULL,
	"disabled" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "flavors_name_unique" UNIQUE("name"),
	CONSTRAINT "flavors_name_format" CHECK ("flavors"."name" ~ '^[a-z0-9][a-z0-9.-]{0,62}$'),
	CONSTRAINT "flavors_positive" CHECK ("flavors"."vcpus" > 0 AND "flavors"."ram_mib" >= 64 AND "flavors"."disk_gib" > 0),
	CONSTRAINT "flavors_cpu_period" CHECK ("flavors"."cpu_period_us" BETWEEN 1000 AND 1000000),
	CONSTRAINT "flavors_cpu_quota" CHECK ("flavors"."cpu_quota_us" IS NULL OR "flavors"."cpu_quota_us" >= 1000)
);
--> statement-breakpoint
CREATE TABLE "images" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid,
	"name" text NOT NULL,
	"os" text NOT NULL,
	"format" "image_format" NOT NULL,
	"size_bytes" bigint NOT NULL,
	"checksum" text NOT NULL,
	"visibility" "image_visibility" NOT NULL,
	"status" "image_status" DEFAULT 'pending' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "images_owner_name" UNIQUE NULLS NOT DISTINCT("tenant_id","name"),
	CONSTRAINT "images_visibility_owner" CHECK (("images"."visibility" = 'public') = ("images"."tenant_id" IS NULL)),
	CONSTRAINT "images_checksum_format" CHECK ("images"."checksum" ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
ALTER TABLE "images" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "ssh_keys" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"name" text NOT NULL,
	"public_key" text NOT NULL,
	"fingerprint" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ssh_keys_tenant_name" UNIQUE("tenant_id","name"),
	CONSTRAINT "ssh_keys_tenant_fingerprint" UNIQUE("tenant_id","fingerprint")
);
--> statement-breakpoint
ALTER TABLE "ssh_keys" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "fabrics" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"type" "segment_type" NOT NULL,
	"device" text NOT NULL,
	"segment_ranges" text NOT NULL,
	"mtu" integer DEFAULT 1500 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "fabrics_name_unique" UNIQUE("name"),
	CONSTRAINT "fabrics_device_format" CHECK ("fabrics"."device" ~ '^[a-zA-Z0-9_.-]{1,15}$'),
	CONSTRAINT "fabrics_ranges_format" CHECK ("fabrics"."segment_ranges" ~ '^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$'),
	CONSTRAINT "fabrics_mtu" CHECK ("fabrics"."mtu" BETWEEN 576 AND 9216)
);
--> statement-breakpoint
CREATE TABLE "networks" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"fabric_id" uuid NOT NULL,
	"name" text NOT NULL,
	"segment_type" "segment_type" NOT NULL,
	"segment_id" integer NOT NULL,
	"cidr" "cidr" NOT NULL,
	"gateway" "inet",
	"status" "network_status" DEFAULT 'pending' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "networks_fabric_segment" UNIQUE("fabric_id","segment_id"),
	CONSTRAINT "networks_tenant_name" UNIQUE("tenant_id","name"),
	CONSTRAINT "networks_segment_range" CHECK (("networks"."segment_type" = 'vlan' AND "networks"."segment_id" BETWEEN 1 AND 4094) OR ("networks"."segment_type" = 'vxlan' AND "networks"."segment_id" BETWEEN 1 AND 16777215)),
	CONSTRAINT "networks_ipv4" CHECK (family("networks"."cidr") = 4),
	CONSTRAINT "networks_gateway_inside" CHECK ("networks"."gateway" IS NULL OR "networks"."gateway" << "networks"."cidr")
);
--> statement-breakpoint
ALTER TABLE "networks" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "hosts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"state" "host_state" DEFAULT 'enrolling' NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"agent_url" text,
	"cert_fingerprint" text,
	"cpus" integer DEFAULT 0 NOT NULL,
	"ram_mib" integer DEFAULT 0 NOT NULL,
	"disk_gib" integer DEFAULT 0 NOT NULL,
	"security_models" text[] DEFAULT '{}'::text[] NOT NULL,
	"acceleration" "acceleration",
	"allow_weaker_isolation" boolean DEFAULT false NOT NULL,
	"compliance" jsonb,
	"last_heartbeat_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "hosts_name_unique" UNIQUE("name"),
	CONSTRAINT "hosts_name_format" CHECK ("hosts"."name" ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
	CONSTRAINT "hosts_capacity" CHECK ("hosts"."cpus" >= 0 AND "hosts"."ram_mib" >= 0 AND "hosts"."disk_gib" >= 0)
);
--> statement-breakpoint
CREATE TABLE "vms" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"name" text NOT NULL,
	"flavor_id" uuid NOT NULL,
	"image_id" uuid NOT NULL,
	"host_id" uuid,
	"desired_state" "vm_desired_state" DEFAULT 'running' NOT NULL,
	"observed_state" "vm_observed_state" DEFAULT 'building' NOT NULL,
	"mcs_c_1" smallint,
	"mcs_c_2" smallint,
	"spec_revision" integer DEFAULT 1 NOT NULL,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"user_data" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "vms_tenant_name" UNIQUE("tenant_id","name"),
	CONSTRAINT "vms_mcs_pair" UNIQUE("mcs_c_1","mcs_c_2"),
	CONSTRAINT "vms_mcs_pair_valid" CHECK (("vms"."mcs_c_1" IS NULL AND "vms"."mcs_c_2" IS NULL) OR ("vms"."mcs_c_1" >= 0 AND "vms"."mcs_c_1" < "vms"."mcs_c_2" AND "vms"."mcs_c_2" <= 1023)),
	CONSTRAINT "vms_name_format" CHECK ("vms"."name" ~ '^[a-z][a-z0-9-]{0,61}[a-z0-9]$'),
	CONSTRAINT "vms_user_data_size" CHECK (octet_length("vms"."user_data") <= 32768)
);
--> statement-breakpoint
ALTER TABLE "vms" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "nics" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"vm_id" uuid NOT NULL,
	"network_id" uuid NOT NULL,
	"mac" "macaddr" NOT NULL,
	"ip" "inet" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "nics_mac" UNIQUE("mac"),
	CONSTRAINT "nics_network_ip" UNIQUE("network_id","ip")
);
--> statement-breakpoint
ALTER TABLE "nics" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "volumes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"name" text NOT NULL,
	"size_gib" integer NOT NULL,
	"vm_id" uuid,
	"host_id" uuid,
	"status" "volume_status" DEFAULT 'pending' NOT NULL,
	"wrapped_key" "bytea",
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "volumes_tenant_name" UNIQUE("tenant_id","name"),
	CONSTRAINT "volumes_size" CHECK ("volumes"."size_gib" BETWEEN 1 AND 65536)
);
--> statement-breakpoint
ALTER TABLE "volumes" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "snapshots" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"vm_id" uuid NOT NULL,
	"name" text NOT NULL,
	"status" "snapshot_status" DEFAULT 'pending' NOT NULL,
	"size_bytes" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "snapshots_vm_name" UNIQUE("vm_id","name")
);
--> statement-breakpoint
ALTER TABLE "snapshots" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "operations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid,
	"kind" text NOT NULL,
	"target_type" text NOT NULL,
	"target_id" uuid NOT NULL,
	"state" "operation_state" DEFAULT 'pending' NOT NULL,
	"steps" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"progress" integer DEFAULT 0 NOT NULL,
	"error_code" text,
	"error_message" text,
	"deadline" timestamp with time zone NOT NULL,
	"idempotency_key" text,
	"request_id" text,
	"actor" text NOT NULL,
	"enqueued_at" timestamp with time zone,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "operations_idempotency" UNIQUE("tenant_id","idempotency_key"),
	CONSTRAINT "operations_progress" CHECK ("operations"."progress" BETWEEN 0 AND 100)
);
--> statement-breakpoint
ALTER TABLE "operations" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "audit_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid,
	"actor_type" "actor_type" NOT NULL,
	"actor_id" text NOT NULL,
	"actor_name" text,
	"action" text NOT NULL,
	"target_type" text,
	"target_id" text,
	"request_id" text,
	"source_ip" "inet",
	"outcome" "audit_outcome" NOT NULL,
	"details" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "audit_events" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "api_clients" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"name" text NOT NULL,
	"role" "tenant_role" NOT NULL,
	"keycloak_client_id" text NOT NULL,
	"keycloak_id" text NOT NULL,
	"status" "api_client_status" DEFAULT 'active' NOT NULL,
	"created_by" text NOT NULL,
	"secret_rotated_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "api_clients_keycloakClientId_unique" UNIQUE("keycloak_client_id"),
	CONSTRAINT "api_clients_tenant_name" UNIQUE("tenant_id","name"),
	CONSTRAINT "api_clients_role" CHECK ("api_clients"."role" <> 'owner')
);
--> statement-breakpoint
ALTER TABLE "api_clients" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "memberships" ADD CONSTRAINT "memberships_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "quotas" ADD CONSTRAINT "quotas_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tenant_usage" ADD CONSTRAINT "tenant_usage_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "images" ADD CONSTRAINT "images_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ssh_keys" ADD CONSTRAINT "ssh_keys_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "networks" ADD CONSTRAINT "networks_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "networks" ADD CONSTRAINT "networks_fabric_id_fabrics_id_fk" FOREIGN KEY ("fabric_id") REFERENCES "public"."fabrics"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vms" ADD CONSTRAINT "vms_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vms" ADD CONSTRAINT "vms_flavor_id_flavors_id_fk" FOREIGN KEY ("flavor_id") REFERENCES "public"."flavors"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vms" ADD CONSTRAINT "vms_image_id_images_id_fk" FOREIGN KEY ("image_id") REFERENCES "public"."images"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vms" ADD CONSTRAINT "vms_host_id_hosts_id_fk" FOREIGN KEY ("host_id") REFERENCES "public"."hosts"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "nics" ADD CONSTRAINT "nics_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "nics" ADD CONSTRAINT "nics_vm_id_vms_id_fk" FOREIGN KEY ("vm_id") REFERENCES "public"."vms"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "nics" ADD CONSTRAINT "nics_network_id_networks_id_fk" FOREIGN KEY ("network_id") REFERENCES "public"."networks"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "volumes" ADD CONSTRAINT "volumes_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "volumes" ADD CONSTRAINT "volumes_vm_id_vms_id_fk" FOREIGN KEY ("vm_id") REFERENCES "public"."vms"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "volumes" ADD CONSTRAINT "volumes_host_id_hosts_id_fk" FOREIGN KEY ("host_id") REFERENCES "public"."hosts"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "snapshots" ADD CONSTRAINT "snapshots_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "snapshots" ADD CONSTRAINT "snapshots_vm_id_vms_id_fk" FOREIGN KEY ("vm_id") REFERENCES "public"."vms"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "operations" ADD CONSTRAINT "operations_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audit_events" ADD CONSTRAINT "audit_events_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_clients" ADD CONSTRAINT "api_clients_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "operations_one_active_per_target" ON "operations" USING btree ("target_id") WHERE state IN ('pending', 'running', 'compensating');--> statement-breakpoint
CREATE INDEX "operations_outbox" ON "operations" USING btree ("created_at") WHERE state = 'pending' AND enqueued_at IS NULL;--> statement-breakpoint
CREATE INDEX "audit_events_tenant_time" ON "audit_events" USING btree ("tenant_id","created_at");--> statement-breakpoint
CREATE POLICY "tenants_self" ON "tenants" AS PERMISSIVE FOR ALL TO public USING (id = app_current_tenant() OR app_is_platform()) WITH CHECK (app_is_platform());--> statement-breakpoint
CREATE POLICY "memberships_tenant_isolation" ON "memberships" AS PERMISSIVE FOR ALL TO public USING (tenant_id = app_current_tenant() OR app_is_platform()) WITH CHECK (tenant_id = app_current_tenant() OR app_is_platform());--> statement-breakpoint
CREATE POLICY "quotas_tenant_read" ON "quotas" AS PERMISSIVE FOR SELECT TO public USING (tenant_id = app_current_tenant());--> statement-breakpoint
CREATE POLICY "quotas_platform_all" ON "quotas" AS PERMISSIVE FOR ALL TO public USING (app_is_platform()) WITH CHECK (app_is_platform());--> statement-breakpoint
CREATE POLICY "tenant_usage_tenant_isolation" ON "tenant_usage" AS PERMISSIVE FOR ALL TO public USING (tenant_id = app_current_tenant() OR app_is_platform()) WITH CHECK (tenant_id = app_current_tenant() OR app_is_platform());--> statement-breakpoint
CREATE POLICY "images_read" ON "images" AS PERMISSIVE FOR SELECT TO public USING (tenant_id IS NULL OR tenant_id = app_current_tenant() OR app_is_platform());--> statement-breakpoint
CREATE POLICY "images_write" ON "images" AS PERMISSIVE FOR ALL TO public USING (tenant_id = app_current_tenant() OR app_is_platform()) WITH CHECK (tenant_id = app_current_tenant() OR app_is_platform());--> statement-breakpoint
CREATE POLICY "ssh_keys_tenant_isolation" ON "ssh_keys" AS PERMISSIVE FOR ALL TO public USING (tenant_id = app_current_tenant() OR app_is_platform()) WITH CHECK (tenant_id = app_current_tenant() OR app_is_platform());--> statement-breakpoint
CREATE POLICY "networks_tenant_isolation" ON "networks" AS PERMISSIVE FOR ALL TO public USING (tenant_id = app_current_tenant() OR app_is_platform()) WITH CHECK (tenant_id = app_current_tenant() OR app_is_platform());--> statement-breakpoint
CREATE POLICY "vms_tenant_isolation" ON "vms" AS PERMISSIVE FOR ALL TO public USING (tenant_id = app_current_tenant() OR app_is_platform()) WITH CHECK (tenant_id = app_current_tenant() OR app_is_platform());--> statement-breakpoint
CREATE POLICY "nics_tenant_isolation" ON "nics" AS PERMISSIVE FOR ALL TO public USING (tenant_id = app_current_tenant() OR app_is_platform()) WITH CHECK (tenant_id = app_current_tenant() OR app_is_platform());--> statement-breakpoint
CREATE POLICY "volumes_tenant_isolation" ON "volumes" AS PERMISSIVE FOR ALL TO public USING (tenant_id = app_current_tenant() OR app_is_platform()) WITH CHECK (tenant_id = app_current_tenant() OR app_is_platform());--> statement-breakpoint
CREATE POLICY "snapshots_tenant_isolation" ON "snapshots" AS PERMISSIVE FOR ALL TO public USING (tenant_id = app_current_tenant() OR app_is_platform()) WITH CHECK (tenant_id = app_current_tenant() OR app_is_platform());--> statement-breakpoint
CREATE POLICY "operations_tenant_isolation" ON "operations" AS PERMISSIVE FOR ALL TO public USING (tenant_id = app_current_tenant() OR app_is_platform()) WITH CHECK (tenant_id = app_current_tenant() OR app_is_platform());--> statement-breakpoint
CREATE POLICY "audit_events_tenant_isolation" ON "audit_events" AS PERMISSIVE FOR ALL TO public USING (tenant_id = app_current_tenant() OR app_is_platform()) WITH CHECK (tenant_id = app_current_tenant() OR app_is_platform());--> statement-breakpoint
CREATE POLICY "api_clients_tenant_isolation" ON "api_clients" AS PERMISSIVE FOR ALL TO public USING (tenant_id = app_current_tenant() OR app_is_platform()) WITH CHECK (tenant_id = app_current_tenant() OR app_is_platform());