CREATE TABLE `audit_events` (
	`log_id` text NOT NULL,
	`seq` integer NOT NULL,
	`time` integer NOT NULL,
	`type` text NOT NULL,
	`session_id` text,
	`body` blob NOT NULL,
	`leaf_hash` blob NOT NULL,
	PRIMARY KEY(`log_id`, `seq`)
);
--> statement-breakpoint
CREATE INDEX `audit_events_session` ON `audit_events` (`session_id`,`seq`);--> statement-breakpoint
CREATE TABLE `audit_logs` (
	`log_id` text PRIMARY KEY NOT NULL,
	`public_key` blob NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `checkpoints` (
	`log_id` text NOT NULL,
	`size` integer NOT NULL,
	`root_hash` blob NOT NULL,
	`time` integer NOT NULL,
	`signature` blob NOT NULL,
	PRIMARY KEY(`log_id`, `size`)
);
--> statement-breakpoint
CREATE TABLE `recordings` (
	`session_id` text NOT NULL,
	`batch` integer NOT NULL,
	`log_id` text NOT NULL,
	`event_seq` integer NOT NULL,
	`first_time` integer NOT NULL,
	`frame_count` integer NOT NULL,
	`data` blob NOT NULL,
	`sha256` blob NOT NULL,
	PRIMARY KEY(`session_id`, `batch`)
);
--> statement-breakpoint
CREATE INDEX `recordings_log_event` ON `recordings` (`log_id`,`event_seq`);--> statement-breakpoint
CREATE TABLE `sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`log_id` text NOT NULL,
	`subject` text,
	`issuer` text,
	`kind` text,
	`connection` text,
	`protocol` text,
	`target_user` text,
	`client_addr` text,
	`application` text,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	`end_reason` text,
	`statements` integer DEFAULT 0 NOT NULL,
	`bytes_in` integer DEFAULT 0 NOT NULL,
	`bytes_out` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `sessions_started` ON `sessions` (`started_at`);