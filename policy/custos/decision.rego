# The decision every command gets: a malformed rule output denies (fail closed), else the first denial,
# else the first review, else allow. "First" is by priority (`priority` on the entry, else
# data.custos.lists.rule_priority[rule], else lists.default_rule_priority; lower wins), then the pack's
# rules before local ones, then rule name, then reason: deterministic whatever the set order, and
# documented rather than alphabetical.
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
	"reason": sprintf("a policy rule returned malformed output (%s): denied until it is fixed", [concat(", ", sort(invalid_outputs))]),
	"rule": "custos.invalid_decision",
	"mask": [],
	"record": "sync",
} if {
	count(invalid_outputs) > 0
} else := {
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

reviews contains r if some r in everyone_reviews

reviews contains r if some r in agent_reviews

reviews contains r if some r in data.custos.local.review

# Output that would otherwise be dropped on the way to a decision (an entry that is not
# {"rule": non-empty string, "reason": string[, "priority": number]}, or a local deny/review/mask that is
# not a set): a rule that meant to deny must never allow by being malformed.
invalid_outputs contains "denial" if {
	some d in denials
	not valid_entry(d)
}

invalid_outputs contains "denial" if {
	some d in catch_all_denials
	not valid_entry(d)
}

invalid_outputs contains "review" if {
	some r in reviews
	not valid_entry(r)
}

invalid_outputs contains sprintf("custos.local.%s is not a set", [name]) if {
	some name in ["deny", "review", "mask"]
	x := data.custos.local[name]
	not is_set(x)
	not is_array(x)
}

entry_fields := {"rule", "reason", "priority"}

valid_entry(e) if {
	is_object(e)
	is_string(e.rule)
	e.rule != ""
	is_string(e.reason)
	every k, _ in e {
		k in entry_fields
	}
	valid_priority(e)
}

valid_priority(e) if not has_field(e, "priority")

valid_priority(e) if is_number(e.priority)

has_field(e, k) if _ = e[k]

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

priority(e) := e.priority if is_number(e.priority)

else := p if p := data.custos.lists.rule_priority[e.rule]

else := data.custos.lists.default_rule_priority

# Among entries of one priority the pack's own rules (those lists.rule_priority names) come before
# local ones, so a local rule's name (`bank.*` sorts before `custos.*`) never changes which of the
# pack's reasons the client reads; only then rule name and reason, to stay deterministic.
origin(e) := 0 if _ = data.custos.lists.rule_priority[e.rule]

else := 1

# The entry that decides: lowest priority, then origin, then rule name, then reason (valid entries only;
# an invalid one has already made the decision a deny above).
first(entries) := {"rule": p[2], "reason": p[3]} if {
	p := sort([[priority(e), origin(e), e.rule, e.reason] | some e in entries; valid_entry(e)])[0]
}
