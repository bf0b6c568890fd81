CREATE TABLE "siem_cursors" (
	"sink" text NOT NULL,
	"log_id" text NOT NULL,
	"next_seq" bigint NOT NULL,
	"checkpoint_size" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "siem_cursors_sink_log_id_pk" PRIMARY KEY("sink","log_id")
);
