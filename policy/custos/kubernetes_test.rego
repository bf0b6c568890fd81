package custos_test

import data.custos

kube_input(kind, overrides) := {
	"identity": {"subject": "s", "issuer": "i", "groups": [], "kind": kind},
	"connection": {"name": "prod-cluster", "type": "kubernetes", "labels": [], "approvers": []},
	"session": {"id": "1", "client_addr": "127.0.0.1", "started_at": "", "application_name": ""},
	"command": object.union(
		{
			"protocol": "kubernetes", "text": "", "verb": "get", "method": "GET", "path": "/api/v1/namespaces/default/pods",
			"resource_request": true, "group": "", "version": "v1", "resource": "pods", "subresource": "",
			"namespace": "default", "name": "", "field_selector": "", "label_selector": "", "dry_run": false,
			"params": {},
		},
		overrides,
	),
	"time": {"rfc3339": "", "unix_ms": 0, "weekday": 1, "hour": 12},
}

kube(kind, overrides) := d if {
	d := custos.decision with input as kube_input(kind, overrides)
}

test_kube_agent_reads_allowed_buffered_and_masked if {
	some verb in ["get", "list", "watch"]
	d := kube("agent", {"verb": verb, "name": "web"})
	d.action == "allow"
	d.rule == "custos.agent_read"
	d.record == "buffered"
	{"detector": "ssn", "method": "redact"} in d.mask
}

test_kube_agent_reads_every_verb if {
	every verb in ["get", "list", "watch"] {
		kube("agent", {"verb": verb}).action == "allow"
	}
}

test_kube_agent_logs_allowed if {
	d := kube("agent", {"verb": "get", "name": "web", "subresource": "log"})
	d.action == "allow"
}

test_kube_agent_secret_get_denied if {
	d := kube("agent", {"verb": "get", "resource": "secrets", "name": "db"})
	d.action == "deny"
	d.rule == "custos.kube_secret_read"
}

test_kube_agent_secret_list_and_watch_allowed if {
	every verb in ["list", "watch"] {
		kube("agent", {"verb": verb, "resource": "secrets"}).action == "allow"
	}
}

# A list pinned to one name by fieldSelector is still a list: the gateway masks its values.
test_kube_agent_secret_list_by_field_selector_allowed if {
	d := kube("agent", {"verb": "list", "resource": "secrets", "name": "db", "field_selector": "metadata.name=db"})
	d.action == "allow"
}

test_kube_a_secret_in_another_group_is_not_a_secret if {
	kube("agent", {"verb": "get", "group": "example.com", "resource": "secrets", "name": "x"}).action == "allow"
}

test_kube_human_secret_get_allowed_unmasked if {
	d := kube("human", {"verb": "get", "resource": "secrets", "name": "db"})
	d.action == "allow"
	d.mask == []
}

test_kube_agent_writes_reviewed if {
	every verb in ["create", "update", "patch", "delete", "deletecollection"] {
		d := kube("agent", {"verb": verb, "group": "apps", "resource": "deployments", "name": "web"})
		d.action == "review"
		d.rule == "custos.kube_agent_write"
		d.record == "sync"
	}
}

test_kube_agent_scale_reviewed if {
	d := kube("agent", {"verb": "patch", "group": "apps", "resource": "deployments", "name": "web", "subresource": "scale"})
	d.action == "review"
	d.reason == "agents need approval to patch deployments.apps/web/scale"
}

test_kube_agent_dry_run_write_still_reviewed if {
	kube("agent", {"verb": "create", "resource": "configmaps", "dry_run": true}).action == "review"
}

test_kube_agent_streams_reviewed if {
	every sub in ["exec", "attach", "portforward", "proxy"] {
		d := kube("agent", {"verb": "create", "name": "web", "subresource": sub})
		d.action == "review"
		d.rule == "custos.kube_agent_stream"
	}
}

# `GET .../pods/web/exec` is a get to the resolver, but it opens a shell all the same.
test_kube_agent_stream_by_get_reviewed if {
	d := kube("agent", {"verb": "get", "name": "web", "subresource": "exec"})
	d.action == "review"
}

test_kube_agent_proxy_verb_reviewed if {
	kube("agent", {"verb": "proxy", "resource": "services", "name": "web"}).action == "review"
}

test_kube_human_streams_and_writes_allowed if {
	kube("human", {"verb": "create", "name": "web", "subresource": "exec"}).action == "allow"
	kube("human", {"verb": "patch", "group": "apps", "resource": "deployments", "name": "web"}).action == "allow"
}

test_kube_agent_namespace_delete_denied if {
	every verb in ["delete", "deletecollection"] {
		d := kube("agent", {"verb": verb, "resource": "namespaces", "namespace": "team", "name": "team"})
		d.action == "deny"
		d.rule == "custos.kube_guarded"
	}
}

test_kube_human_namespace_delete_reviewed if {
	d := kube("human", {"verb": "delete", "resource": "namespaces", "namespace": "team", "name": "team"})
	d.action == "review"
	d.rule == "custos.kube_guarded"
}

test_kube_namespace_finalize_is_a_write_not_a_delete if {
	d := kube("agent", {"verb": "update", "resource": "namespaces", "name": "team", "subresource": "finalize"})
	d.action == "review"
	d.rule == "custos.kube_agent_write"
}

test_kube_agent_rbac_and_admission_writes_denied if {
	every group in ["rbac.authorization.k8s.io", "admissionregistration.k8s.io"] {
		d := kube("agent", {"verb": "create", "group": group, "resource": "clusterrolebindings"})
		d.action == "deny"
		d.rule == "custos.kube_guarded"
	}
}

test_kube_agent_rbac_read_allowed if {
	kube("agent", {"verb": "list", "group": "rbac.authorization.k8s.io", "resource": "clusterroles"}).action == "allow"
}

test_kube_agent_discovery_allowed if {
	every path in ["/api", "/apis", "/api/v1", "/apis/apps/v1", "/version", "/openapi/v3", "/openapi/v3/apis/apps/v1"] {
		kube("agent", {"verb": "get", "resource_request": false, "path": path, "resource": "", "namespace": ""}).action == "allow"
	}
}

test_kube_agent_other_non_resource_denied if {
	every path in ["/metrics", "/logs/", "/debug/pprof/", "/configz", "/apiss", "/openapi"] {
		d := kube("agent", {"verb": "get", "resource_request": false, "path": path, "resource": "", "namespace": ""})
		d.action == "deny"
		d.rule == "custos.kube_non_resource"
	}
}

test_kube_agent_discovery_post_denied if {
	kube("agent", {"verb": "post", "resource_request": false, "path": "/apis", "resource": ""}).action == "deny"
}

test_kube_unresolved_verb_denied_for_everyone if {
	every kind in ["agent", "human"] {
		d := kube(kind, {"verb": ""})
		d.action == "deny"
	}
}

test_kube_regulated_writes_reviewed_for_humans if {
	inp := json.patch(kube_input("human", {"verb": "patch", "group": "apps", "resource": "deployments", "name": "web"}), [{"op": "replace", "path": "/connection/labels", "value": ["regulated"]}])
	d := custos.decision with input as inp
	d.action == "review"
	d.rule == "custos.regulated_write"
}
