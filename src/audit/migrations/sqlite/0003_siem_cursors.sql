CREATE TABLE `siem_cursors` (
	`sink` text NOT NULL,
	`log_id` text NOT NULL,
	`next_seq` integer NOT NULL,
	`checkpoint_size` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`sink`, `log_id`)
);
