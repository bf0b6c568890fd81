CREATE TABLE "approval_decisions" (
	"request_id" text NOT NULL,
	"approver_subject" text NOT NULL,
	"approver_issuer" text NOT NULL,
	"approver_groups" text NOT NULL,
	"amr" text,
	"verdict" text NOT NULL,
	"reason" text NOT NULL,
	"time" bigint NOT NULL,
	"log_id" text NOT NULL,
	CONSTRAINT "approval_decisions_request_id_approver_issuer_approver_subject_verdict_pk" PRIMARY KEY("request_id","approver_issuer","approver_subject","verdict")
);
--> statement-breakpoint
CREATE TABLE "approval_requests" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"status" text NOT NULL,
	"connection" text NOT NULL,
	"requester_subject" text NOT NULL,
	"requester_issuer" text NOT NULL,
	"requester_groups" text NOT NULL,
	"requester_kind" text NOT NULL,
	"approver_groups" text NOT NULL,
	"min_approvals" integer NOT NULL,
	"log_id" text,
	"session_id" text,
	"statement_text" text,
	"statement_hash" text,
	"params" text,
	"rule" text,
	"reason" text NOT NULL,
	"duration_ms" bigint,
	"created_at" bigint NOT NULL,
	"deadline" bigint NOT NULL,
	"decided_at" bigint,
	"grant_expires_at" bigint,
	"consumed_at" bigint,
	"ended_reason" text
);
--> statement-breakpoint
CREATE INDEX "approval_requests_status" ON "approval_requests" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "approval_requests_grant" ON "approval_requests" USING btree ("connection","requester_subject","status");