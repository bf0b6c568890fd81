# Functions agents may call: immutable and stable ones (by the catalog's pg_proc.provolatile, resolved per
# statement with every overload counted: the most volatile wins), volatile ones only from the vetted list
# (random, clock_timestamp, gen_random_uuid, …: they change nothing outside the statement). Functions that
# change state whatever their volatility says (nextval, pg_advisory_lock, txid_current assigning a
# transaction id, pg_notify, pg_sleep, pg_stat_reset) and those that expose other sessions are denied by
# name too, so the rule holds where no catalog resolution is available.
package custos

agent_denials contains {"rule": "custos.agent_volatile_function", "reason": sprintf("agents may not call %s: it is volatile (it can change state) and not on the vetted list", [f.name])} if {
	agent
	some s in statements
	some f in object.get(s, ["catalog", "functions"], [])
	f.volatility == "volatile"
	not base_name(f.name) in data.custos.lists.agent.volatile_functions
}

agent_denials contains {"rule": "custos.agent_unknown_function", "reason": sprintf("agents may not call %s: the catalog has no such function", [f.name])} if {
	agent
	some s in statements
	some f in object.get(s, ["catalog", "functions"], [])
	f.volatility == "unknown"
}

# As written, and as the catalog found them (functions a view scans).
called_functions(s) := {f | some f in s.functions} | {f.name | some f in object.get(s, ["catalog", "functions"], [])}
