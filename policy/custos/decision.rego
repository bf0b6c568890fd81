# The decision every command gets: the first denial (by rule name), else the first review, else allow.
# Rules add to `denials` and `reviews`; institutions add their own in package custos.local
# (see policy/README.md) without editing this file.
package custos

default decision := {
	"action": "deny",
	"reason": "no rule allowed this command",
	"rule": "custos.default_deny",
	"mask": [],
	"record": "sync",
}

decision := {
	"action": "deny",
	"reason": d.reason,
	"rule": d.rule,
	"mask": [],
	"record": "sync",
} if {
	count(denials) > 0
	d := first(denials)
} else := {
	"action": "review",
	"reason": r.reason,
	"rule": r.rule,
	"mask": mask,
	"record": "sync",
} if {
	count(reviews) > 0
	r := first(reviews)
} else := {
	"action": "allow",
	"reason": "allowed",
	"rule": allow_rule,
	"mask": mask,
	"record": record,
} if {
	input.identity.kind
}

allow_rule := "custos.agent_read" if input.identity.kind == "agent"

else := "custos.allow"

# Statements of a SQL command; empty for other protocols (see `classified`).
statements := object.get(input, ["command", "statements"], [])

classified if is_array(input.command.statements)

# Denials from specific rules win over the agents' catch-all, so the client learns the precise reason.
denials contains d if some d in specific_denials

denials contains d if {
	count(specific_denials) == 0
	some d in catch_all_denials
}

specific_denials contains d if some d in agent_denials

specific_denials contains d if some d in everyone_denials

specific_denials contains d if some d in data.custos.local.deny

reviews contains r if some r in regulated_reviews

reviews contains r if some r in data.custos.local.review

# A statement that changes data, schema, privileges, or runs code whose effect is unknown.
mutating(s) if count(s.tables_written) > 0

mutating(s) if count(s.dml) > 0

mutating(s) if s.kind in data.custos.lists.mutating_kinds

mutating(s) if s.is_dynamic

# Commands that change anything are held until their audit record is durable.
default record := "sync"

record := "buffered" if {
	classified
	not any_mutating
}

any_mutating if {
	some s in statements
	mutating(s)
}

base_name(name) := parts[count(parts) - 1] if parts := split(name, ".")

# The entry with the smallest rule name (then reason): deterministic whatever the set order.
first(entries) := {"rule": p[0], "reason": p[1]} if p := sort([[e.rule, e.reason] | some e in entries])[0]
