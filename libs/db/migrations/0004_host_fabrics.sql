CREATE TABLE "host_fabrics" (
	"host_id" uuid NOT NULL,
	"fabric_id" uuid NOT NULL,
	CONSTRAINT "host_fabrics_host_id_fabric_id_pk" PRIMARY KEY("host_id","fabric_id")
);
--> statement-breakpoint
ALTER TABLE "host_fabrics" ADD CONSTRAINT "host_fabrics_host_id_hosts_id_fk" FOREIGN KEY ("host_id") REFERENCES "public"."hosts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "host_fabrics" ADD CONSTRAINT "host_fabrics_fabric_id_fabrics_id_fk" FOREIGN KEY ("fabric_id") REFERENCES "public"."fabrics"("id") ON DELETE restrict ON UPDATE no action;