CREATE TABLE "audit_events" (
	"log_id" text NOT NULL,
	"seq" bigint NOT NULL,
	"time" bigint NOT NULL,
	"type" text NOT NULL,
	"session_id" text,
	"body" "bytea" NOT NULL,
	"leaf_hash" "bytea" NOT NULL,
	CONSTRAINT "audit_events_log_id_seq_pk" PRIMARY KEY("log_id","seq")
);
--> statement-breakpoint
CREATE TABLE "audit_logs" (
	"log_id" text PRIMARY KEY NOT NULL,
	"public_key" "bytea" NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "checkpoints" (
	"log_id" text NOT NULL,
	"size" bigint NOT NULL,
	"root_hash" "bytea" NOT NULL,
	"time" bigint NOT NULL,
	"signature" "bytea" NOT NULL,
	CONSTRAINT "checkpoints_log_id_size_pk" PRIMARY KEY("log_id","size")
);
--> statement-breakpoint
CREATE TABLE "recordings" (
	"session_id" text NOT NULL,
	"batch" integer NOT NULL,
	"log_id" text NOT NULL,
	"event_seq" bigint NOT NULL,
	"first_time" bigint NOT NULL,
	"frame_count" integer NOT NULL,
	"data" "bytea" NOT NULL,
	"sha256" "bytea" NOT NULL,
	CONSTRAINT "recordings_session_id_batch_pk" PRIMARY KEY("session_id","batch")
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"log_id" text NOT NULL,
	"subject" text,
	"issuer" text,
	"kind" text,
	"connection" text,
	"protocol" text,
	"target_user" text,
	"client_addr" text,
	"application" text,
	"started_at" bigint NOT NULL,
	"ended_at" bigint,
	"end_reason" text,
	"statements" integer DEFAULT 0 NOT NULL,
	"bytes_in" bigint DEFAULT 0 NOT NULL,
	"bytes_out" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX "audit_events_session" ON "audit_events" USING btree ("session_id","seq");--> statement-breakpoint
CREATE INDEX "recordings_log_event" ON "recordings" USING btree ("log_id","event_seq");--> statement-breakpoint
CREATE INDEX "sessions_started" ON "sessions" USING btree ("started_at");