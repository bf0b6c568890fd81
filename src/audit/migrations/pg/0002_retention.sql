ALTER TABLE "audit_events" ADD COLUMN "pruned_at" bigint;--> statement-breakpoint
ALTER TABLE "recordings" ADD COLUMN "pruned_at" bigint;