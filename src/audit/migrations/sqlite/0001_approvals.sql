CREATE TABLE `approval_decisions` (
	`request_id` text NOT NULL,
	`approver_subject` text NOT NULL,
	`approver_issuer` text NOT NULL,
	`approver_groups` text NOT NULL,
	`amr` text,
	`verdict` text NOT NULL,
	`reason` text NOT NULL,
	`time` integer NOT NULL,
	`log_id` text NOT NULL,
	PRIMARY KEY(`request_id`, `approver_issuer`, `approver_subject`, `verdict`)
);
--> statement-breakpoint
CREATE TABLE `approval_requests` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`status` text NOT NULL,
	`connection` text NOT NULL,
	`requester_subject` text NOT NULL,
	`requester_issuer` text NOT NULL,
	`requester_groups` text NOT NULL,
	`requester_kind` text NOT NULL,
	`approver_groups` text NOT NULL,
	`min_approvals` integer NOT NULL,
	`log_id` text,
	`session_id` text,
	`statement_text` text,
	`statement_hash` text,
	`params` text,
	`rule` text,
	`reason` text NOT NULL,
	`duration_ms` integer,
	`created_at` integer NOT NULL,
	`deadline` integer NOT NULL,
	`decided_at` integer,
	`grant_expires_at` integer,
	`consumed_at` integer,
	`ended_reason` text
);
--> statement-breakpoint
CREATE INDEX `approval_requests_status` ON `approval_requests` (`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `approval_requests_grant` ON `approval_requests` (`connection`,`requester_subject`,`status`);