ALTER TABLE `audit_events` ADD `pruned_at` integer;--> statement-breakpoint
ALTER TABLE `recordings` ADD `pruned_at` integer;