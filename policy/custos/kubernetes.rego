# Kubernetes API requests (connections of type kubernetes). The input is the API server's own reading of
# the request (verb, group, resource, subresource, namespace, name; see README's Kubernetes section).
# Agents may get, list and watch, and read discovery; Secrets they may list and watch with every value
# removed by the gateway, but not get one by name. exec, attach, port-forward, proxy and every write
# (create, update, patch, delete, deletecollection, including dry runs) go to review. Deleting namespaces,
# changing RBAC and admission configuration are denied for agents and go to review for everyone else.
# A request the gateway could not resolve to a verb is denied for everyone.
package custos

kubernetes if input.command.protocol == "kubernetes"

classified if {
	kubernetes
	is_string(input.command.verb)
	input.command.verb != ""
}

kube_read_verbs := {"get", "list", "watch"}

# Subresources that run code in, or open a tunnel to, a container or node: never a plain read.
kube_stream_subresources := {"exec", "attach", "portforward", "proxy"}

# Discovery and version paths kubectl reads before any request; everything else outside /api and /apis
# (/metrics, /debug, /logs, /configz, /flowcontrol…) is not for agents.
kube_discovery_prefixes := ["/api", "/apis", "/openapi/", "/version"]

kube_resource if {
	kubernetes
	input.command.resource_request == true
}

kube_stream if {
	kube_resource
	input.command.subresource in kube_stream_subresources
}

kube_stream if {
	kube_resource
	input.command.verb == "proxy"
}

kube_write if {
	kube_resource
	not input.command.verb in kube_read_verbs
	not kube_stream
}

kube_read if {
	kube_resource
	input.command.verb in kube_read_verbs
	not kube_stream
}

kube_secrets if {
	kube_resource
	input.command.group == ""
	input.command.resource == "secrets"
}

# Writes are held until their audit record is durable; so are streams.
any_mutating if kube_write

any_mutating if kube_stream

kube_guarded contains "deleting a namespace" if {
	kube_resource
	input.command.group == ""
	input.command.resource == "namespaces"
	input.command.subresource == ""
	input.command.verb in {"delete", "deletecollection"}
}

kube_guarded contains sprintf("changing RBAC (%s)", [input.command.resource]) if {
	kube_write
	input.command.group == "rbac.authorization.k8s.io"
}

kube_guarded contains sprintf("changing admission configuration (%s)", [input.command.resource]) if {
	kube_write
	input.command.group == "admissionregistration.k8s.io"
}

specific_denials contains d if some d in kube_denials

reviews contains r if some r in kube_reviews

kube_denials contains {"rule": "custos.kube_unresolved", "reason": "the request has no Kubernetes verb the gateway could resolve"} if {
	kubernetes
	not classified
}

kube_denials contains {"rule": "custos.kube_guarded", "reason": sprintf("agents may not be %s", [what])} if {
	agent
	some what in kube_guarded
}

kube_denials contains {"rule": "custos.kube_secret_read", "reason": "agents may not read a Secret by name (list and watch return it with values removed)"} if {
	agent
	kube_secrets
	kube_read
	input.command.name != ""
	input.command.verb == "get"
}

kube_denials contains {"rule": "custos.kube_non_resource", "reason": sprintf("agents may not call %s", [input.command.path])} if {
	agent
	kubernetes
	input.command.resource_request == false
	not kube_discovery_path(input.command.path)
}

kube_denials contains {"rule": "custos.kube_non_resource", "reason": sprintf("agents may only read %s", [input.command.path])} if {
	agent
	kubernetes
	input.command.resource_request == false
	kube_discovery_path(input.command.path)
	not input.command.verb in {"get", "head"}
}

kube_reviews contains {"rule": "custos.kube_guarded", "reason": sprintf("%s needs approval", [what])} if {
	not agent
	some what in kube_guarded
}

kube_reviews contains {"rule": "custos.kube_agent_write", "reason": sprintf("agents need approval to %s %s", [input.command.verb, kube_what])} if {
	agent
	kube_write
}

kube_reviews contains {"rule": "custos.kube_agent_stream", "reason": sprintf("agents need approval for %s", [kube_what])} if {
	agent
	kube_stream
}

kube_reviews contains {"rule": "custos.regulated_write", "reason": "writes to a regulated connection need approval"} if {
	kube_write
	data.custos.lists.regulated_label in input.connection.labels
}

kube_reviews contains {"rule": "custos.regulated_write", "reason": "exec, attach, port-forward and proxy on a regulated connection need approval"} if {
	kube_stream
	data.custos.lists.regulated_label in input.connection.labels
}

kube_what := concat("/", [x | some x in [kube_resource_name, input.command.name, input.command.subresource]; x != ""])

kube_resource_name := input.command.resource if input.command.group == ""

else := sprintf("%s.%s", [input.command.resource, input.command.group])

kube_discovery_path(path) if path in {"/api", "/apis", "/version"}

kube_discovery_path(path) if {
	some prefix in kube_discovery_prefixes
	endswith(prefix, "/")
	startswith(path, prefix)
}

kube_discovery_path(path) if {
	some prefix in ["/api/", "/apis/"]
	startswith(path, prefix)
}
