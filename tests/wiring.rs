//! The generated platform as one system. For the default config and every
//! fixture, everything is rendered (the chart by the real Helm SDK, as
//! ArgoCD would), and every reference that crosses a layer is followed from
//! one end to the other, both ends named when they disagree:
//!
//! - credentials: each ServiceAccount carrying an IAM role ↔ the role the
//!   Terraform makes and the one subject it trusts; each Secret a workload
//!   reads ↔ the ExternalSecret writing it ↔ its store ↔ the Secrets Manager
//!   secret or SSM parameter the Terraform creates ↔ the IAM statement that
//!   lets the reader have exactly it; each database user ↔ its rds-db:connect
//!   grant ↔ the role db-init creates;
//! - a request: API Gateway route → integration → VPC link → load balancer
//!   listener → target group (name, port) → TargetGroupBinding → Service →
//!   (Istio Gateway server → VirtualService →) Service port → containerPort,
//!   with the security groups, NetworkPolicies and AuthorizationPolicies on
//!   the way; the only public entry is API Gateway; in-cluster calls
//!   (`*_URL`) reach a Service whose pods the NetworkPolicies and the callee's
//!   AuthorizationPolicy let the caller's identity reach;
//! - TLS: every TLS server's certificate comes from something rendered, in
//!   the namespace that reads it;
//! - a metric: ServiceMonitor → Service port → the mTLS the namespace
//!   enforces and the identity Prometheus scrapes with → the policies that
//!   must let it;
//! - images: ECR repository ↔ the image a workload pulls ↔ the build matrix;
//! - GitOps: ArgoCD source paths ↔ the rendered chart; every namespace
//!   written ↔ an AppProject destination.
//!
//! `each_link_check_can_fail` breaks one end of each link in the rendered
//! output and asserts the check names it.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::platform::{self, Env, Obj, Platform, allows, attr, block, eval};
use serde_json::{Value, json};

const CONFIGS: [&str; 5] = [
    "myhealth.toml",
    "tests/fixtures/minimal.toml",
    "tests/fixtures/multi-region.toml",
    "tests/fixtures/moto.toml",
    "tests/fixtures/extra-env-service.toml",
];

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn arr(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

/// Pod specs of the chart's workloads: (object, pod spec).
fn pods(env: &Env) -> Vec<(&Obj, &Value)> {
    env.k8s
        .iter()
        .filter_map(|o| match o.kind() {
            "Deployment" | "Job" => Some((o, &o.v["spec"]["template"]["spec"])),
            "CronJob" => Some((o, &o.v["spec"]["jobTemplate"]["spec"]["template"]["spec"])),
            _ => None,
        })
        .collect()
}

fn pod_labels(o: &Obj) -> &Value {
    match o.kind() {
        "CronJob" => &o.v["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"],
        _ => &o.v["spec"]["template"]["metadata"]["labels"],
    }
}

fn matches(selector: &Value, labels: &Value) -> bool {
    selector.as_object().is_some_and(|sel| !sel.is_empty() && sel.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

fn containers(pod: &Value) -> Vec<Value> {
    let mut c = arr(&pod["containers"]);
    c.extend(arr(&pod["initContainers"]));
    c
}

fn env_var(container: &Value, name: &str) -> Option<String> {
    arr(&container["env"]).iter().find(|e| e["name"] == name).and_then(|e| e["value"].as_str().map(str::to_string))
}

/// The platform add-ons: (Application, its chart's values).
fn addons(env: &Env) -> Vec<(&Obj, &Value)> {
    env.argocd
        .iter()
        .filter(|o| o.kind() == "Application" && o.v["spec"]["source"]["chart"].is_string())
        .map(|o| (o, &o.v["spec"]["source"]["helm"]["valuesObject"]))
        .collect()
}

fn addon<'a>(env: &'a Env, chart: &str) -> Option<(&'a Obj, &'a Value)> {
    addons(env).into_iter().find(|(a, _)| a.v["spec"]["source"]["chart"] == chart)
}

/// A ServiceAccount: (namespace, name, role ARN annotation, where it is defined).
struct Sa {
    ns: String,
    name: String,
    role: Option<String>,
    from: String,
}

/// Where the upstream charts (at their pinned versions) take their
/// ServiceAccount from: chart → path of the `{name, annotations}` value.
const ADDON_SA: [(&str, &[&str]); 3] = [
    ("external-secrets", &["serviceAccount"]),
    ("cluster-autoscaler", &["rbac", "serviceAccount"]),
    ("aws-load-balancer-controller", &["serviceAccount"]),
];

fn service_accounts(env: &Env) -> Vec<Sa> {
    let mut out: Vec<Sa> = env
        .k8s
        .iter()
        .filter(|o| o.kind() == "ServiceAccount")
        .map(|o| Sa {
            ns: o.namespace().into(),
            name: o.name().into(),
            role: o.v["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].as_str().map(str::to_string),
            from: o.id(),
        })
        .collect();
    for (chart, path) in ADDON_SA {
        if let Some((app, values)) = addon(env, chart) {
            let sa = path.iter().fold(values, |v, p| &v[*p]);
            out.push(Sa {
                ns: s(&app.v["spec"]["destination"]["namespace"]).into(),
                name: s(&sa["name"]).into(),
                role: sa["annotations"]["eks.amazonaws.com/role-arn"].as_str().map(str::to_string),
                from: format!("add-on {} values ({})", app.name(), app.file),
            });
        }
    }
    out
}

// --- credentials --------------------------------------------------------------

fn check_irsa(env: &Env) -> Vec<String> {
    let mut p = Vec::new();
    let roles = env.tf.irsa_roles();
    let account = s(&env.tf.vars["account_id"]).to_string();
    let sas = service_accounts(env);
    let mut carried = BTreeSet::new();
    for sa in &sas {
        let Some(arn) = &sa.role else { continue };
        let Some(role) = arn.strip_prefix(&format!("arn:aws:iam::{account}:role/")) else {
            p.push(format!(
                "ServiceAccount {}/{} ({}) carries `{arn}`, not a role of account {account}",
                sa.ns, sa.name, sa.from
            ));
            continue;
        };
        carried.insert(role.to_string());
        match roles.get(role) {
            None => p.push(format!(
                "ServiceAccount {}/{} ({}) carries role `{role}`, which the Terraform does not create (roles: {:?})",
                sa.ns,
                sa.name,
                sa.from,
                roles.keys().collect::<Vec<_>>()
            )),
            Some((subject, _)) => {
                let want = format!("system:serviceaccount:{}:{}", sa.ns, sa.name);
                if *subject != want {
                    p.push(format!(
                        "IAM role `{role}` trusts `{subject}`, but the ServiceAccount carrying it is `{want}` ({})",
                        sa.from
                    ));
                }
            }
        }
    }
    for (role, (subject, _)) in &roles {
        // The EBS CSI driver's role is given to the EKS add-on, which creates its ServiceAccount.
        if role.ends_with("-ebs-csi") {
            continue;
        }
        if !carried.contains(role) {
            p.push(format!("IAM role `{role}` (trusting `{subject}`) is carried by no ServiceAccount"));
        }
    }
    for (o, pod) in pods(env) {
        let name = s(&pod["serviceAccountName"]);
        if !sas.iter().any(|sa| sa.ns == o.namespace() && sa.name == name) {
            p.push(format!("{} runs as ServiceAccount `{name}`, which is not rendered", o.id()));
        }
    }
    p
}

/// The policy of the role a ServiceAccount (ns, name) assumes.
fn role_policy(env: &Env, ns: &str, name: &str) -> Option<(String, Value)> {
    let subject = format!("system:serviceaccount:{ns}:{name}");
    env.tf.irsa_roles().into_iter().find(|(_, (s, _))| *s == subject).map(|(r, (_, p))| (r, p))
}

/// Symbols of the secrets and parameters the Terraform creates.
fn tf_secrets(env: &Env) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = env.tf.ctx_vals["module"]["secrets"]["arns"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, v)| s(v).to_string())
        .collect();
    out.extend(arr(&env.tf.vars["external_secret_arns"]).iter().map(|a| s(a).to_string()));
    out
}

fn tf_parameters(env: &Env) -> BTreeSet<String> {
    env.tf.ctx_vals["aws_ssm_parameter"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, v)| s(&v["arn"]).to_string())
        .collect()
}

fn sm(key: &str) -> String {
    if key.starts_with("arn:") { key.to_string() } else { format!("sm:{key}") }
}

fn check_secrets(env: &Env) -> Vec<String> {
    let mut p = Vec::new();
    let written: BTreeMap<(String, String), &Obj> = env
        .k8s
        .iter()
        .filter(|o| o.kind() == "ExternalSecret")
        .map(|o| ((o.namespace().to_string(), s(&o.v["spec"]["target"]["name"]).to_string()), o))
        .collect();
    // Workload → Secret → ExternalSecret.
    for (o, pod) in pods(env) {
        for c in containers(pod) {
            let mut reads: Vec<String> =
                arr(&c["envFrom"]).iter().filter_map(|e| e["secretRef"]["name"].as_str().map(str::to_string)).collect();
            reads.extend(
                arr(&c["env"])
                    .iter()
                    .filter_map(|e| e["valueFrom"]["secretKeyRef"]["name"].as_str().map(str::to_string)),
            );
            for r in reads {
                if !written.contains_key(&(o.namespace().to_string(), r.clone())) {
                    p.push(format!(
                        "{} reads Secret `{r}`, which no ExternalSecret in `{}` writes",
                        o.id(),
                        o.namespace()
                    ));
                }
            }
        }
        for v in arr(&pod["volumes"]) {
            if let Some(r) = v["secret"]["secretName"].as_str() {
                if !written.contains_key(&(o.namespace().to_string(), r.to_string())) {
                    p.push(format!("{} mounts Secret `{r}`, which no ExternalSecret writes", o.id()));
                }
            }
        }
    }
    // ExternalSecret → store → AWS resource → the operator's IAM grant.
    let stores: BTreeMap<(String, String), &Obj> = env
        .k8s
        .iter()
        .filter(|o| o.kind() == "SecretStore")
        .map(|o| ((o.namespace().to_string(), o.name().to_string()), o))
        .collect();
    let eso = service_accounts(env).into_iter().find(|sa| sa.name == "external-secrets" && sa.role.is_some());
    let eso_policy = eso.as_ref().and_then(|sa| role_policy(env, &sa.ns, &sa.name));
    let (secrets, params) = (tf_secrets(env), tf_parameters(env));
    let region = s(&env.tf.vars["region"]);
    for es in written.values() {
        let default_store = s(&es.v["spec"]["secretStoreRef"]["name"]).to_string();
        for d in arr(&es.v["spec"]["data"]) {
            let store_name =
                d["sourceRef"]["storeRef"]["name"].as_str().map(str::to_string).unwrap_or(default_store.clone());
            let Some(store) = stores.get(&(es.namespace().to_string(), store_name.clone())) else {
                p.push(format!("{} uses store `{store_name}`, which is not in `{}`", es.id(), es.namespace()));
                continue;
            };
            let aws = &store.v["spec"]["provider"]["aws"];
            if s(&aws["region"]) != region {
                p.push(format!("{} reads region `{}`, the Terraform builds `{region}`", store.id(), s(&aws["region"])));
            }
            let key = s(&d["remoteRef"]["key"]);
            let (symbol, known, action) = match s(&aws["service"]) {
                "SecretsManager" => (sm(key), secrets.contains(&sm(key)), "secretsmanager:GetSecretValue"),
                "ParameterStore" => (format!("ssm:{key}"), params.contains(&format!("ssm:{key}")), "ssm:GetParameter"),
                other => {
                    p.push(format!("{} is a `{other}` store", store.id()));
                    continue;
                }
            };
            if !known {
                p.push(format!("{} reads `{key}`, which the Terraform does not create ({symbol})", es.id()));
            }
            match &eso_policy {
                Some((role, policy)) if !allows(policy, action, &symbol) => p.push(format!(
                    "{} reads `{key}`, but External Secrets' role `{role}` does not allow {action} on it",
                    es.id()
                )),
                None => p.push(format!("{} needs External Secrets, whose ServiceAccount has no IAM role", es.id())),
                _ => {}
            }
        }
    }
    // What workloads read from AWS themselves, with their own role.
    for (o, pod) in pods(env) {
        let sa = s(&pod["serviceAccountName"]);
        let policy = role_policy(env, o.namespace(), sa);
        let grant = |action: &str, symbol: &str, what: &str, p: &mut Vec<String>| match &policy {
            Some((role, pol)) if allows(pol, action, symbol) => {
                let _ = role;
            }
            Some((role, _)) => {
                p.push(format!("{} uses {what}, but its role `{role}` does not allow {action} on `{symbol}`", o.id()))
            }
            None => p.push(format!("{} uses {what}, but ServiceAccount `{sa}` assumes no IAM role", o.id())),
        };
        for c in containers(pod) {
            if let Some(id) = env_var(&c, "OURA_TOKEN_SECRET_ID") {
                if !secrets.contains(&sm(&id)) {
                    p.push(format!("{} keeps its tokens in `{id}`, which the Terraform does not create", o.id()));
                }
                grant("secretsmanager:GetSecretValue", &sm(&id), "its token secret", &mut p);
                grant("secretsmanager:PutSecretValue", &sm(&id), "its token secret", &mut p);
            }
            if let Some(param) = env_var(&c, "DB_PARAMETER") {
                let symbol = format!("ssm:{param}");
                if !params.contains(&symbol) {
                    p.push(format!("{} reads parameter `{param}`, which the Terraform does not create", o.id()));
                }
                grant("ssm:GetParameter", &symbol, "the database parameter", &mut p);
                grant("secretsmanager:GetSecretValue", "rds-master", "the RDS-managed master secret", &mut p);
            }
            if let Some(id) = env_var(&c, "DB_READER_SECRET_ID") {
                if !secrets.contains(&sm(&id)) {
                    p.push(format!("{} reads `{id}`, which the Terraform does not create", o.id()));
                }
                grant("secretsmanager:GetSecretValue", &sm(&id), "the reader's password", &mut p);
            }
            if env_var(&c, "DB_IAM_AUTH").as_deref() == Some("true") {
                let user = env_var(&c, "DB_USER").unwrap_or_default();
                let arn = format!(
                    "arn:aws:rds-db:{region}:{}:dbuser:<rds-resource-id>/{user}",
                    s(&env.tf.vars["account_id"])
                );
                grant("rds-db:connect", &arn, "IAM database authentication", &mut p);
                let init_roles: Vec<String> = pods(env)
                    .iter()
                    .flat_map(|(_, pod)| containers(pod))
                    .filter_map(|c| env_var(&c, "DB_ROLES"))
                    .collect();
                if !init_roles.iter().any(|r| r.split(',').any(|x| x.split('=').next() == Some(user.as_str()))) {
                    p.push(format!(
                        "{} logs in as `{user}`, which db-init does not create (DB_ROLES: {init_roles:?})",
                        o.id()
                    ));
                }
            }
        }
    }
    p
}

// --- a request ------------------------------------------------------------------

/// A Service of the platform: the chart's, or one an add-on's values define.
struct Svc {
    ns: String,
    name: String,
    ty: String,
    /// (port, targetPort as given: number or name)
    ports: Vec<(u64, Value)>,
    selector: Value,
    from: String,
}

fn services(env: &Env) -> Vec<Svc> {
    let mut out: Vec<Svc> = env
        .k8s
        .iter()
        .filter(|o| o.kind() == "Service")
        .map(|o| Svc {
            ns: o.namespace().into(),
            name: o.name().into(),
            ty: o.v["spec"]["type"].as_str().unwrap_or("ClusterIP").into(),
            ports: arr(&o.v["spec"]["ports"])
                .iter()
                .map(|p| (p["port"].as_u64().unwrap(), p["targetPort"].clone()))
                .collect(),
            selector: o.v["spec"]["selector"].clone(),
            from: o.id(),
        })
        .collect();
    // istio/gateway: its Service is the release's, shaped by `service` (type, ports), its pods labelled by `labels`.
    if let Some((app, values)) = addon(env, "gateway") {
        out.push(Svc {
            ns: s(&app.v["spec"]["destination"]["namespace"]).into(),
            name: s(&app.v["spec"]["source"]["helm"]["releaseName"]).into(),
            ty: values["service"]["type"].as_str().unwrap_or("LoadBalancer").into(),
            ports: arr(&values["service"]["ports"])
                .iter()
                .map(|p| (p["port"].as_u64().unwrap(), p["targetPort"].clone()))
                .collect(),
            selector: values["labels"].clone(),
            from: format!("add-on {} values", app.name()),
        });
    }
    out
}

/// The container port a Service port reaches in the chart's pods.
fn container_port(env: &Env, svc: &Svc, target: &Value) -> Option<(u64, String)> {
    if let Some(n) = target.as_u64() {
        return Some((n, format!("{} targetPort {n}", svc.from)));
    }
    let name = target.as_str()?;
    for (o, pod) in pods(env) {
        if o.namespace() == svc.ns && matches(&svc.selector, pod_labels(o)) {
            for c in containers(pod) {
                if let Some(p) = arr(&c["ports"]).iter().find(|p| p["name"] == name) {
                    return Some((p["containerPort"].as_u64()?, o.id()));
                }
            }
        }
    }
    None
}

fn module_locals(body: &hcl::Body, inputs: &Value) -> Value {
    let mut local = serde_json::Map::new();
    for b in platform::blocks(body, "locals") {
        for a in b.body().attributes() {
            if let Ok(v) = eval(a.expr(), &json!({ "var": inputs, "local": local.clone() })) {
                local.insert(a.key().to_string(), v);
            }
        }
    }
    Value::Object(local)
}

fn text(e: Option<&hcl::Expression>) -> String {
    e.map(|e| e.to_string()).unwrap_or_default()
}

fn check_ingress(env: &Env) -> Vec<String> {
    let mut p = Vec::new();
    let (body, inputs) = env.tf.module("api_gateway");
    let scope = json!({ "var": inputs, "local": module_locals(body, inputs) });
    let r = |ty: &str, n: &str| block(body, "resource", &[ty, n]);
    let ev = |b: Option<&hcl::Block>, a: &str| {
        b.and_then(|b| attr(b, a)).and_then(|e| eval(e, &scope).ok()).unwrap_or(Value::Null)
    };
    // API Gateway → VPC link → listener → target group.
    let route = r("aws_apigatewayv2_route", "default");
    if text(route.and_then(|b| attr(b, "target"))) != "\"integrations/${aws_apigatewayv2_integration.ingress.id}\"" {
        p.push(format!(
            "API Gateway's default route targets `{}`, not the ingress integration",
            text(route.and_then(|b| attr(b, "target")))
        ));
    }
    let integ = r("aws_apigatewayv2_integration", "ingress");
    if text(integ.and_then(|b| attr(b, "integration_uri"))) != "aws_lb_listener.ingress.arn"
        || text(integ.and_then(|b| attr(b, "connection_id"))) != "aws_apigatewayv2_vpc_link.this.id"
    {
        p.push("the ingress integration does not go through the VPC link to the load balancer's listener".into());
    }
    let listener = r("aws_lb_listener", "ingress");
    let listener_port = ev(listener, "port").as_u64();
    let fwd = listener.and_then(|l| l.body().blocks().find(|b| b.identifier() == "default_action"));
    if text(fwd.and_then(|b| attr(b, "target_group_arn"))) != "aws_lb_target_group.ingress.arn" {
        p.push("the load balancer's listener does not forward to the ingress target group".into());
    }
    let link_egress = r("aws_vpc_security_group_egress_rule", "link_to_lb");
    if ev(link_egress, "from_port").as_u64() != listener_port || ev(link_egress, "to_port").as_u64() != listener_port {
        p.push(format!(
            "the VPC link may reach port {:?}, the load balancer listens on {listener_port:?}",
            ev(link_egress, "from_port")
        ));
    }
    let tg = r("aws_lb_target_group", "ingress");
    let (tg_name, tg_port) = (ev(tg, "name").as_str().unwrap_or_default().to_string(), ev(tg, "port").as_u64());
    if s(&ev(tg, "target_type")) != "ip" {
        p.push("the ingress target group does not take pod IPs (target_type `ip`)".into());
    }
    let to_pods = r("aws_vpc_security_group_ingress_rule", "targets_from_lb");
    if ev(to_pods, "from_port").as_u64() != tg_port {
        p.push(format!(
            "the nodes admit the load balancer on {:?}, its targets listen on {tg_port:?}",
            ev(to_pods, "from_port")
        ));
    }
    let root_eks =
        text(block(&env.tf.root, "module", &["api_gateway"]).and_then(|b| attr(b, "target_security_group_id")));
    if root_eks != "module.eks.node_security_group_id" {
        p.push(format!("the load balancer's targets are admitted by `{root_eks}`, not the nodes' security group"));
    }

    // Kubernetes: who registers the targets, and where a request goes next.
    let api_deployed = env.k8s.iter().any(|o| o.kind() == "Deployment" && o.name().ends_with("api-service"));
    let tgbs: Vec<&Obj> = env.k8s.iter().filter(|o| o.kind() == "TargetGroupBinding").collect();
    if !api_deployed {
        return p;
    }
    if tgbs.len() != 1 {
        p.push(format!("{} TargetGroupBindings register the ingress targets (want 1)", tgbs.len()));
        return p;
    }
    let tgb = tgbs[0];
    if s(&tgb.v["spec"]["targetGroupName"]) != tg_name {
        p.push(format!(
            "{} names target group `{}`, the Terraform's is `{tg_name}`",
            tgb.id(),
            s(&tgb.v["spec"]["targetGroupName"])
        ));
    }
    if addon(env, "aws-load-balancer-controller").is_none() {
        p.push(format!("{} needs the AWS Load Balancer Controller, which no add-on installs", tgb.id()));
    }
    let svcs = services(env);
    let (ref_name, ref_port) = (s(&tgb.v["spec"]["serviceRef"]["name"]), tgb.v["spec"]["serviceRef"]["port"].as_u64());
    let Some(svc) = svcs.iter().find(|x| x.ns == tgb.namespace() && x.name == ref_name) else {
        p.push(format!("{} binds Service {}/{ref_name}, which is not rendered", tgb.id(), tgb.namespace()));
        return p;
    };
    let Some((_, target)) = svc.ports.iter().find(|(port, _)| Some(*port) == ref_port) else {
        p.push(format!("{} binds port {ref_port:?} of {}, which has no such port", tgb.id(), svc.from));
        return p;
    };
    let via_gateway = svc.from.starts_with("add-on");
    let pod_port = if via_gateway { target.as_u64() } else { container_port(env, svc, target).map(|(n, _)| n) };
    if pod_port != tg_port {
        p.push(format!(
            "target group `{tg_name}` sends to port {tg_port:?}, but {} port {ref_port:?} leads to pod port {pod_port:?}",
            svc.from
        ));
    }
    // The public entry is API Gateway alone.
    for x in &svcs {
        if x.ty == "LoadBalancer" || x.ty == "NodePort" {
            p.push(format!("{} is a `{}` Service: a second entry beside API Gateway", x.from, x.ty));
        }
    }
    let api = svcs.iter().find(|x| x.name.ends_with("api-service") && !x.from.starts_with("add-on"));
    let Some(api) = api else {
        p.push("no api-service Service".into());
        return p;
    };
    let (api_port, api_target) = api.ports[0].clone();
    let Some((container, pod)) = container_port(env, api, &api_target) else {
        p.push(format!("{} targets `{api_target}`, which no pod it selects declares", api.from));
        return p;
    };
    let _ = pod;
    if via_gateway {
        let gw_labels = &svc.selector;
        let gateways: Vec<&Obj> =
            env.k8s.iter().filter(|o| o.kind() == "Gateway" && matches(&o.v["spec"]["selector"], gw_labels)).collect();
        let served: Vec<&Obj> = gateways
            .iter()
            .copied()
            .filter(|g| arr(&g.v["spec"]["servers"]).iter().any(|sv| sv["port"]["number"].as_u64() == ref_port))
            .collect();
        if served.is_empty() {
            p.push(format!(
                "no Istio Gateway selecting {} has a server on port {ref_port:?} (gateways: {:?})",
                svc.from,
                gateways.iter().map(|g| g.id()).collect::<Vec<_>>()
            ));
        }
        let vs_ok = env.k8s.iter().filter(|o| o.kind() == "VirtualService").any(|vs| {
            let bound = arr(&vs.v["spec"]["gateways"]).iter().any(|g| {
                served.iter().any(|gw| s(g) == gw.name() || s(g) == format!("{}/{}", gw.namespace(), gw.name()))
            });
            bound
                && arr(&vs.v["spec"]["http"]).iter().flat_map(|h| arr(&h["route"])).any(|rt| {
                    let d = &rt["destination"];
                    s(&d["host"]) == api.name
                        && d["port"]["number"].as_u64() == Some(api_port)
                        && vs.namespace() == api.ns
                })
        });
        if !vs_ok {
            p.push(format!(
                "no VirtualService bound to the gateway's port-{ref_port:?} server routes to {} port {api_port}",
                api.from
            ));
        }
        // `myhealthctl deploy`'s smoke test GETs /health through this path.
        let health = env.k8s.iter().filter(|o| o.kind() == "VirtualService").any(|vs| {
            arr(&vs.v["spec"]["http"]).iter().any(|h| {
                arr(&h["match"]).iter().any(|m| s(&m["uri"]["exact"]) == "/health" || s(&m["uri"]["prefix"]) == "/")
            })
        });
        if !health {
            p.push("no VirtualService routes `/health`, which `deploy`'s smoke test asks through the ingress".into());
        }
        let np_ok = env.k8s.iter().filter(|o| o.kind() == "NetworkPolicy" && o.namespace() == api.ns).any(|np| {
            arr(&np.v["spec"]["ingress"]).iter().any(|rule| {
                let from_gw = arr(&rule["from"]).iter().any(|f| {
                    s(&f["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]) == svc.ns
                        && matches(&f["podSelector"]["matchLabels"], gw_labels)
                });
                from_gw && arr(&rule["ports"]).iter().any(|pt| pt["port"].as_u64() == Some(container))
            })
        });
        if !np_ok {
            p.push(format!("no NetworkPolicy lets the gateway pods ({}) reach api-service on {container}", svc.ns));
        }
        let authz_ok =
            env.k8s.iter().filter(|o| o.kind() == "AuthorizationPolicy" && o.namespace() == api.ns).any(|a| {
                arr(&a.v["spec"]["rules"]).iter().any(|r| {
                    arr(&r["from"]).iter().any(|f| arr(&f["source"]["namespaces"]).iter().any(|n| s(n) == svc.ns))
                })
            });
        if !authz_ok {
            p.push(format!("no AuthorizationPolicy lets the gateway's namespace `{}` call api-service", svc.ns));
        }
    }
    p
}

/// In-cluster calls: a workload's `*_URL` naming `http://<service>.<namespace>.svc:<port>`
/// reaches that Service's pods, and the NetworkPolicies and the callee's
/// AuthorizationPolicy let exactly the caller's identity through.
fn check_calls(env: &Env) -> Vec<String> {
    let mut p = Vec::new();
    let svcs = services(env);
    for (caller, pod) in pods(env) {
        let sa = s(&pod["serviceAccountName"]).to_string();
        for c in containers(pod) {
            for e in arr(&c["env"]) {
                let (name, value) = (s(&e["name"]), s(&e["value"]));
                let Some(rest) = value.strip_prefix("http://").filter(|_| name.ends_with("_URL")) else { continue };
                let host_port = rest.split('/').next().unwrap();
                let (host, port) = host_port.split_once(':').unwrap_or((host_port, "80"));
                let Some((svc_name, ns)) = host.strip_suffix(".svc").and_then(|h| h.split_once('.')) else {
                    p.push(format!("{} calls `{value}` ({name}), not a Service of the cluster", caller.id()));
                    continue;
                };
                let port: u64 = port.parse().unwrap_or(0);
                let Some(svc) = svcs.iter().find(|x| x.name == svc_name && x.ns == ns) else {
                    p.push(format!(
                        "{} calls `{value}` ({name}), but there is no Service {ns}/{svc_name}",
                        caller.id()
                    ));
                    continue;
                };
                let Some((_, target)) = svc.ports.iter().find(|(sp, _)| *sp == port) else {
                    p.push(format!("{} calls port {port} of {}, which it does not serve", caller.id(), svc.from));
                    continue;
                };
                let Some((container, _)) = container_port(env, svc, target) else {
                    p.push(format!("{} port {port} reaches no container", svc.from));
                    continue;
                };
                let caller_labels = pod_labels(caller);
                let callee: Vec<&Obj> = pods(env)
                    .into_iter()
                    .map(|(o, _)| o)
                    .filter(|o| o.namespace() == ns && matches(&svc.selector, pod_labels(o)))
                    .collect();
                let nps: Vec<&Obj> = env.k8s.iter().filter(|o| o.kind() == "NetworkPolicy").collect();
                let egress_ok = nps
                    .iter()
                    .filter(|np| {
                        np.namespace() == caller.namespace()
                            && matches(&np.v["spec"]["podSelector"]["matchLabels"], caller_labels)
                    })
                    .any(|np| {
                        arr(&np.v["spec"]["egress"]).iter().any(|r| {
                            arr(&r["to"]).iter().any(|t| {
                                callee.iter().any(|o| matches(&t["podSelector"]["matchLabels"], pod_labels(o)))
                            }) && arr(&r["ports"]).iter().any(|x| x["port"].as_u64() == Some(container))
                        })
                    });
                if !egress_ok {
                    p.push(format!("no NetworkPolicy lets {} out to {} on {container}", caller.id(), svc.from));
                }
                let ingress_ok = nps
                    .iter()
                    .filter(|np| {
                        np.namespace() == ns
                            && callee
                                .iter()
                                .any(|o| matches(&np.v["spec"]["podSelector"]["matchLabels"], pod_labels(o)))
                    })
                    .any(|np| {
                        arr(&np.v["spec"]["ingress"]).iter().any(|r| {
                            arr(&r["from"]).iter().any(|f| matches(&f["podSelector"]["matchLabels"], caller_labels))
                                && arr(&r["ports"]).iter().any(|x| x["port"].as_u64() == Some(container))
                        })
                    });
                if !ingress_ok {
                    p.push(format!("no NetworkPolicy lets {} in to {} on {container}", caller.id(), svc.from));
                }
                let principal = format!("cluster.local/ns/{}/sa/{sa}", caller.namespace());
                for a in env.k8s.iter().filter(|o| o.kind() == "AuthorizationPolicy" && o.namespace() == ns) {
                    if callee.iter().any(|o| matches(&a.v["spec"]["selector"]["matchLabels"], pod_labels(o))) {
                        let ok = arr(&a.v["spec"]["rules"]).iter().any(|r| {
                            arr(&r["from"])
                                .iter()
                                .any(|f| arr(&f["source"]["principals"]).iter().any(|x| s(x) == principal))
                        });
                        if !ok {
                            p.push(format!("{} does not let `{principal}` ({}) call it", a.id(), caller.id()));
                        }
                    }
                }
            }
        }
    }
    p
}

fn check_tls(env: &Env) -> Vec<String> {
    let mut p = Vec::new();
    let written: BTreeSet<(String, String)> = env
        .k8s
        .iter()
        .filter(|o| o.kind() == "ExternalSecret")
        .map(|o| (o.namespace().to_string(), s(&o.v["spec"]["target"]["name"]).to_string()))
        .chain(
            env.k8s
                .iter()
                .filter(|o| o.kind() == "Certificate")
                .map(|o| (o.namespace().to_string(), s(&o.v["spec"]["secretName"]).to_string())),
        )
        .collect();
    let gateway_ns: Vec<String> =
        services(env).into_iter().filter(|x| x.from.starts_with("add-on")).map(|x| x.ns).collect();
    for g in env.k8s.iter().filter(|o| o.kind() == "Gateway") {
        for sv in arr(&g.v["spec"]["servers"]) {
            let proto = s(&sv["port"]["protocol"]);
            if proto == "HTTPS" || proto == "TLS" {
                let cred = s(&sv["tls"]["credentialName"]);
                // The gateway pods read credentialName from their own namespace.
                if !gateway_ns.iter().any(|ns| written.contains(&(ns.clone(), cred.to_string()))) {
                    p.push(format!(
                        "{} serves {proto} with Secret `{cred}`, which nothing creates in {gateway_ns:?}",
                        g.id()
                    ));
                }
            }
        }
    }
    // The load balancer's TLS listener: the API's ACM certificate, validated.
    let (body, inputs) = env.tf.module("api_gateway");
    let scope = json!({ "var": inputs, "local": module_locals(body, inputs) });
    let l = block(body, "resource", &["aws_lb_listener", "ingress"]).unwrap();
    let proto = attr(l, "protocol").and_then(|e| eval(e, &scope).ok()).unwrap_or(Value::Null);
    if proto == "TLS" {
        let cert = text(attr(l, "certificate_arn"));
        if !cert.contains("aws_acm_certificate_validation.this") {
            p.push(format!("the load balancer's TLS listener serves `{cert}`, not the API's validated certificate"));
        }
        let integ = block(body, "resource", &["aws_apigatewayv2_integration", "ingress"]).unwrap();
        if !integ.body().blocks().any(|b| b.identifier() == "dynamic" || b.identifier() == "tls_config") {
            p.push("API Gateway does not speak TLS to the load balancer's TLS listener".into());
        }
    }
    p
}

// --- a metric ---------------------------------------------------------------------

fn check_metrics(env: &Env) -> Vec<String> {
    let mut p = Vec::new();
    let monitors: Vec<&Obj> = env.k8s.iter().filter(|o| o.kind() == "ServiceMonitor").collect();
    let rules: Vec<&Obj> = env.k8s.iter().filter(|o| o.kind() == "PrometheusRule").collect();
    if monitors.is_empty() && rules.is_empty() {
        return p;
    }
    let Some((kps, values)) = addon(env, "kube-prometheus-stack") else {
        p.push("ServiceMonitors are rendered but no kube-prometheus-stack add-on scrapes them".into());
        return p;
    };
    let release = s(&kps.v["spec"]["source"]["helm"]["releaseName"]);
    let kps_ns = s(&kps.v["spec"]["destination"]["namespace"]);
    // kube-prometheus-stack names Prometheus' ServiceAccount `<release>-prometheus`.
    let principal = format!("cluster.local/ns/{kps_ns}/sa/{release}-prometheus");
    let spec = &values["prometheus"]["prometheusSpec"];
    let mounts: Vec<String> =
        arr(&spec["volumeMounts"]).iter().map(|m| s(&m["mountPath"]).trim_end_matches('/').to_string()).collect();
    let sidecar = spec["podMetadata"]["labels"]["sidecar.istio.io/inject"] == "true"
        && s(&spec["podMetadata"]["annotations"]["proxy.istio.io/config"]).contains("OUTPUT_CERTS");
    for o in monitors.iter().chain(rules.iter()) {
        if s(&o.v["metadata"]["labels"]["release"]) != release {
            p.push(format!(
                "{} is labelled release `{}`, Prometheus selects `{release}`",
                o.id(),
                s(&o.v["metadata"]["labels"]["release"])
            ));
        }
    }
    let svcs = services(env);
    for m in monitors {
        let Some(svc) = svcs.iter().find(|x| {
            x.ns == m.namespace()
                && x.from.contains("Service ")
                && matches(&m.v["spec"]["selector"]["matchLabels"], &service_labels(env, x))
        }) else {
            p.push(format!("{} selects no Service", m.id()));
            continue;
        };
        let strict = env.k8s.iter().any(|o| {
            o.kind() == "PeerAuthentication"
                && o.namespace() == m.namespace()
                && o.v["spec"]["mtls"]["mode"] == "STRICT"
        });
        for ep in arr(&m.v["spec"]["endpoints"]) {
            let port_name = s(&ep["port"]);
            let svc_obj = env
                .k8s
                .iter()
                .find(|o| o.kind() == "Service" && o.namespace() == svc.ns && o.name() == svc.name)
                .unwrap();
            let Some(sp) = arr(&svc_obj.v["spec"]["ports"]).into_iter().find(|x| x["name"] == port_name) else {
                p.push(format!("{} scrapes port `{port_name}`, which {} does not have", m.id(), svc.from));
                continue;
            };
            let Some((container, _)) = container_port(env, svc, &sp["targetPort"]) else {
                p.push(format!("{} port `{port_name}` reaches no container port", svc.from));
                continue;
            };
            if strict {
                let tls = &ep["tlsConfig"];
                let files = ["caFile", "certFile", "keyFile"].map(|k| s(&tls[k]).to_string());
                let mounted =
                    files.iter().all(|f| mounts.iter().any(|d| !d.is_empty() && f.starts_with(&format!("{d}/"))));
                if s(&ep["scheme"]) != "https" || !mounted || !sidecar {
                    p.push(format!(
                        "{} scrapes `{}` with {files:?}, but `{}` is STRICT mTLS and Prometheus mounts {mounts:?} (sidecar certificates: {sidecar})",
                        m.id(),
                        s(&ep["scheme"]),
                        m.namespace()
                    ));
                }
            }
            // Istio authorization: Prometheus' identity may GET /metrics.
            for a in env.k8s.iter().filter(|o| o.kind() == "AuthorizationPolicy" && o.namespace() == m.namespace()) {
                if !selects_service_pods(env, &a.v["spec"]["selector"]["matchLabels"], svc) {
                    continue;
                }
                let ok = arr(&a.v["spec"]["rules"]).iter().any(|r| {
                    arr(&r["from"]).iter().any(|f| arr(&f["source"]["principals"]).iter().any(|x| s(x) == principal))
                        && arr(&r["to"])
                            .iter()
                            .any(|t| arr(&t["operation"]["paths"]).iter().any(|x| s(x) == s(&ep["path"])))
                });
                if !ok {
                    p.push(format!(
                        "{} does not let Prometheus (`{principal}`) GET {} on {}",
                        a.id(),
                        s(&ep["path"]),
                        svc.from
                    ));
                }
            }
            let np_ok =
                env.k8s.iter().filter(|o| o.kind() == "NetworkPolicy" && o.namespace() == m.namespace()).any(|np| {
                    selects_service_pods(env, &np.v["spec"]["podSelector"]["matchLabels"], svc)
                        && arr(&np.v["spec"]["ingress"]).iter().any(|r| {
                            arr(&r["from"]).iter().any(|f| {
                                s(&f["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]) == kps_ns
                            }) && arr(&r["ports"]).iter().any(|x| x["port"].as_u64() == Some(container))
                        })
                });
            if !np_ok {
                p.push(format!("no NetworkPolicy lets `{kps_ns}` reach {} on {container}", svc.from));
            }
        }
    }
    p
}

fn service_labels(env: &Env, svc: &Svc) -> Value {
    env.k8s
        .iter()
        .find(|o| o.kind() == "Service" && o.namespace() == svc.ns && o.name() == svc.name)
        .map(|o| o.v["metadata"]["labels"].clone())
        .unwrap_or(Value::Null)
}

fn selects_service_pods(env: &Env, selector: &Value, svc: &Svc) -> bool {
    pods(env).iter().any(|(o, _)| {
        o.namespace() == svc.ns && matches(&svc.selector, pod_labels(o)) && matches(selector, pod_labels(o))
    })
}

// --- images and GitOps ------------------------------------------------------------

fn check_images(env: &Env, platform: &Platform) -> Vec<String> {
    let mut p = Vec::new();
    let host = format!("{}.dkr.ecr.{}.amazonaws.com", s(&env.tf.vars["account_id"]), s(&env.tf.vars["region"]));
    let repos: BTreeMap<String, String> = env.tf.vars["ecr_repositories"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (s(v).to_string(), k.clone()))
        .collect();
    let matrix: Vec<String> = platform
        .build_workflow
        .as_ref()
        .map(|w| arr(&w["jobs"]["image"]["strategy"]["matrix"]["service"]).iter().map(|x| s(x).to_string()).collect())
        .unwrap_or_default();
    let mut pulled = BTreeSet::new();
    for (o, pod) in pods(env) {
        for c in containers(pod) {
            let image = s(&c["image"]);
            let Some(rest) = image.strip_prefix(&format!("{host}/")) else {
                p.push(format!("{} pulls `{image}`, not from the environment's ECR `{host}`", o.id()));
                continue;
            };
            let repo = rest.split(['@', ':']).next().unwrap();
            match repos.get(repo) {
                None => p.push(format!(
                    "{} pulls `{repo}`, which the Terraform does not create (repositories: {:?})",
                    o.id(),
                    repos.keys()
                )),
                Some(service) => {
                    pulled.insert(repo.to_string());
                    if !matrix.contains(service) {
                        p.push(format!(
                            "{} pulls `{repo}`, whose service `{service}` the build matrix does not build ({matrix:?})",
                            o.id()
                        ));
                    }
                }
            }
        }
    }
    for repo in repos.keys() {
        if !pulled.contains(repo) {
            p.push(format!(
                "ECR repository `{repo}` is pulled by no workload (a configured service that is not deployed?)"
            ));
        }
    }
    p
}

fn check_gitops(env: &Env, generated: &Path) -> Vec<String> {
    let mut p = Vec::new();
    let projects: BTreeMap<&str, &Obj> =
        env.argocd.iter().filter(|o| o.kind() == "AppProject").map(|o| (o.name(), o)).collect();
    let dests = |proj: &Obj| -> Vec<String> {
        arr(&proj.v["spec"]["destinations"]).iter().map(|d| s(&d["namespace"]).to_string()).collect()
    };
    for app in env.argocd.iter().filter(|o| o.kind() == "Application") {
        let Some(proj) = projects.get(s(&app.v["spec"]["project"])) else {
            p.push(format!("{} is in project `{}`, which is not rendered", app.id(), s(&app.v["spec"]["project"])));
            continue;
        };
        let src = &app.v["spec"]["source"];
        if !arr(&proj.v["spec"]["sourceRepos"]).iter().any(|r| r == &src["repoURL"]) {
            p.push(format!(
                "{} comes from `{}`, which project `{}` does not allow",
                app.id(),
                s(&src["repoURL"]),
                proj.name()
            ));
        }
        let ns = s(&app.v["spec"]["destination"]["namespace"]).to_string();
        if !dests(proj).contains(&ns) {
            p.push(format!("{} deploys into `{ns}`, which project `{}` does not allow", app.id(), proj.name()));
        }
        if let Some(path) = src["path"].as_str() {
            let dir = generated.join(path.strip_prefix("generated/").unwrap_or("<outside generated/>"));
            if src["chart"].is_null() && src["directory"].is_null() {
                // The chart's Application: the rendered chart is there, with its values.
                if !dir.join("Chart.yaml").is_file() {
                    p.push(format!("{} points at `{path}`, where no chart is rendered", app.id()));
                }
                for f in arr(&src["helm"]["valueFiles"]) {
                    if !dir.join(s(&f)).is_file() {
                        p.push(format!("{} reads values `{}` from `{path}`, which does not exist", app.id(), s(&f)));
                    }
                }
                // Everything the chart writes lands in a namespace the project allows.
                let allowed = dests(proj);
                for o in &env.k8s {
                    if !allowed.iter().any(|a| a == o.namespace()) {
                        p.push(format!(
                            "the chart writes {}, but project `{}` allows only {allowed:?}",
                            o.id(),
                            proj.name()
                        ));
                    }
                }
            } else if !dir.is_dir() {
                p.push(format!("{} points at `{path}`, which is not rendered", app.id()));
            }
        }
    }
    p
}

/// Each environment's API host: its own (custom domain, certificate and DNS
/// record are one per host), and the one `deploy`'s smoke test falls back to.
fn check_hosts(platform: &Platform) -> Vec<String> {
    let mut p = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for env in &platform.envs {
        let inputs = env.tf.module_inputs("api_gateway");
        let Some(domain) = inputs["custom_domain"].as_str() else { continue };
        if let Some(first) = seen.insert(domain.to_string(), env.name.clone()) {
            p.push(format!("{}: API Gateway custom domain `{domain}` is also {first}'s", env.name));
        }
        let out = common::cmd()
            .args(["deploy", &env.name, "--dry-run", "--json", "--config"])
            .arg(common::root().join(&platform.label))
            .arg("--out")
            .arg(platform.dir.path().join("generated"))
            .output()
            .unwrap();
        let dry: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("{}: deploy --dry-run --json: {e}: {}", env.name, String::from_utf8_lossy(&out.stderr))
        });
        let smoke = dry["steps"].as_array().unwrap().iter().find(|s| s["step"] == "smoke");
        if let Some(smoke) = smoke {
            if s(&smoke["fallback"]) != format!("https://{domain}") {
                p.push(format!(
                    "{}: deploy smoke-tests `{}`, API Gateway serves `{domain}`",
                    env.name,
                    s(&smoke["fallback"])
                ));
            }
        }
    }
    p
}

/// api-service believes `X-Forwarded-For` exactly as far as the proxies on
/// the request's path: API Gateway, then Istio's gateway when the mesh is on
/// (its sidecar connects from loopback, the service's default trust); without
/// the mesh the load balancer connects from its subnets, which must be the
/// trusted ones.
fn check_client_addresses(env: &Env) -> Vec<String> {
    let mut p = Vec::new();
    let mesh = env.k8s.iter().any(|o| o.kind() == "Gateway");
    for (pod, container) in pods(env).into_iter().flat_map(|(o, pod)| containers(pod).into_iter().map(move |c| (o, c)))
    {
        if env_var(&container, "TRUSTED_PROXY_HOPS").is_none() {
            continue;
        }
        let hops = env_var(&container, "TRUSTED_PROXY_HOPS").unwrap_or_default();
        let want = if mesh { "2" } else { "1" };
        if hops != want {
            p.push(format!("{} trusts {hops} proxy hops; the path has {want}", pod.id()));
        }
        let trusted = env_var(&container, "TRUSTED_PROXIES");
        if mesh {
            if trusted.is_some() {
                p.push(format!("{} trusts {trusted:?} beside the mesh's loopback", pod.id()));
            }
            continue;
        }
        let lb_subnets = text(block(&env.tf.root, "module", &["api_gateway"]).and_then(|b| attr(b, "subnet_ids")));
        let private: Vec<String> = env.tf.module_inputs("networking")["private_subnets"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
            .unwrap_or_default();
        if lb_subnets != "module.networking.private_subnet_ids"
            || trusted.as_deref() != Some(private.join(",").as_str())
        {
            p.push(format!(
                "{} trusts `X-Forwarded-For` from {trusted:?}, but the load balancer sits in `{lb_subnets}` ({private:?})",
                pod.id()
            ));
        }
    }
    p
}

fn all_checks(platform: &Platform) -> Vec<String> {
    let generated = platform.dir.path().join("generated");
    let mut out: Vec<String> = check_hosts(platform).into_iter().map(|x| format!("{}/{x}", platform.label)).collect();
    for env in &platform.envs {
        let named =
            |v: Vec<String>| v.into_iter().map(|x| format!("{}/{}: {x}", platform.label, env.name)).collect::<Vec<_>>();
        out.extend(named(check_irsa(env)));
        out.extend(named(check_secrets(env)));
        out.extend(named(check_ingress(env)));
        out.extend(named(check_client_addresses(env)));
        out.extend(named(check_calls(env)));
        out.extend(named(check_tls(env)));
        out.extend(named(check_metrics(env)));
        out.extend(named(check_images(env, platform)));
        out.extend(named(check_gitops(env, &generated)));
    }
    out
}

#[test]
fn every_reference_across_layers_resolves_for_every_config() {
    let mut problems = Vec::new();
    for c in CONFIGS {
        let platform = platform::load(c);
        assert!(!platform.envs.is_empty(), "{c}: no environments");
        problems.extend(all_checks(&platform));
    }
    assert!(problems.is_empty(), "the generated platform does not hold together:\n  {}", problems.join("\n  "));
}

/// Replace `from` by `to` in the rendered file `file` (relative to `generated/`), which must contain it.
fn edit(file: &'static str, from: &'static str, to: &'static str) -> impl Fn(&Path) {
    move |out: &Path| {
        let path = out.join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(text.contains(from), "mutation: `{from}` not in {file}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }
}

/// Each link check fails, naming both ends, when one end is broken.
#[test]
fn each_link_check_can_fail() {
    type Mutation = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Mutation, &str)> = vec![
        (
            "api-service told of one proxy hop behind the mesh",
            Box::new(edit("helm/values-dev.yaml", "TRUSTED_PROXY_HOPS: '2'", "TRUSTED_PROXY_HOPS: '1'")),
            "trusts 1 proxy hops; the path has 2",
        ),
        (
            "dev's custom domain set to prod's host",
            Box::new(edit(
                "terraform/envs/dev/terraform.tfvars",
                "api_custom_domain             = \"dev.api.myhealth.eric-n.com\"",
                "api_custom_domain             = \"api.myhealth.eric-n.com\"",
            )),
            "API Gateway custom domain `api.myhealth.eric-n.com` is also",
        ),
        (
            "the collector's ServiceAccount renamed in the chart's values",
            Box::new(edit(
                "helm/values-dev.yaml",
                "      name: myhealth-oura-collector\n      roleArn",
                "      name: oura-collector\n      roleArn",
            )),
            "IAM role `myhealth-oura-collector` trusts `system:serviceaccount:myhealth:myhealth-oura-collector`, but the ServiceAccount carrying it is `system:serviceaccount:myhealth:oura-collector`",
        ),
        (
            "the Terraform trusts another subject",
            Box::new(edit(
                "terraform/envs/dev/terraform.tfvars",
                "name      = \"external-secrets\"",
                "name      = \"eso\"",
            )),
            "trusts `system:serviceaccount:external-secrets:eso`, but the ServiceAccount carrying it is `system:serviceaccount:external-secrets:external-secrets`",
        ),
        (
            "an ExternalSecret's target renamed",
            Box::new(edit("helm/values-dev.yaml", "apiSecret: myhealth-api\n", "apiSecret: myhealth-api-keys\n")),
            "reads Secret `myhealth-api`, which no ExternalSecret in `myhealth` writes",
        ),
        (
            "the Terraform names a secret differently",
            Box::new(edit(
                "terraform/envs/dev/terraform.tfvars",
                "\"myhealth/oura/client\"",
                "\"myhealth/oura/oauth\"",
            )),
            "reads `myhealth/oura/client`, which the Terraform does not create (sm:myhealth/oura/client)",
        ),
        (
            "External Secrets' policy loses the environment's secrets",
            Box::new(edit(
                "terraform/envs/dev/main.tf",
                "resources = concat(values(module.secrets.arns), var.external_secret_arns)",
                "resources = var.external_secret_arns",
            )),
            "but External Secrets' role `myhealth-external-secrets` does not allow secretsmanager:GetSecretValue on it",
        ),
        (
            "a database user the IAM policy does not name",
            Box::new(edit(
                "terraform/envs/dev/terraform.tfvars",
                "api-service    = \"api_service\"",
                "api-service    = \"api\"",
            )),
            "uses IAM database authentication, but its role `myhealth-api-service` does not allow rds-db:connect",
        ),
        (
            "the TargetGroupBinding names another target group",
            Box::new(edit(
                "helm/values-dev.yaml",
                "targetGroupName: myhealth-dev-ingress",
                "targetGroupName: myhealth-dev-api",
            )),
            "names target group `myhealth-dev-api`, the Terraform's is `myhealth-dev-ingress`",
        ),
        (
            "the target group sends to the wrong pod port",
            Box::new(edit(
                "terraform/envs/dev/terraform.tfvars",
                "ingress_target_port           = 8080",
                "ingress_target_port           = 9090",
            )),
            "target group `myhealth-dev-ingress` sends to port Some(9090), but add-on istio-ingressgateway values port Some(80) leads to pod port Some(8080)",
        ),
        (
            "the gateway's Service becomes a load balancer",
            Box::new(edit("argocd/dev/addons.yaml", "type: ClusterIP", "type: LoadBalancer")),
            "is a `LoadBalancer` Service: a second entry beside API Gateway",
        ),
        (
            "the Gateway listens on another port",
            Box::new(edit("helm/values-dev.yaml", "gatewayPort: 80", "gatewayPort: 8443")),
            "has a server on port Some(80)",
        ),
        (
            "the VPC link may not reach the listener",
            Box::new(edit(
                "terraform/modules/api-gateway/main.tf",
                "  from_port                    = local.listener_port\n  to_port                      = local.listener_port\n}\n\nresource \"aws_security_group\" \"lb\"",
                "  from_port                    = 8443\n  to_port                      = 8443\n}\n\nresource \"aws_security_group\" \"lb\"",
            )),
            "the VPC link may reach port Number(8443), the load balancer listens on Some(443)",
        ),
        (
            "the collector calls the processor on another port",
            Box::new(edit(
                "helm/values-dev.yaml",
                "PROCESSOR_URL: http://myhealth-data-processor.myhealth.svc:8080",
                "PROCESSOR_URL: http://myhealth-data-processor.myhealth.svc:9090",
            )),
            "calls port 9090 of Service myhealth/myhealth-data-processor",
        ),
        (
            "the processor's AuthorizationPolicy names another caller",
            Box::new(edit(
                "helm/values-dev.yaml",
                "      - component: oura-collector\n        serviceAccount: myhealth-oura-collector",
                "      - component: oura-collector\n        serviceAccount: collector",
            )),
            "does not let `cluster.local/ns/myhealth/sa/myhealth-oura-collector`",
        ),
        (
            "an HTTPS server whose certificate nothing creates",
            Box::new(edit(
                "helm/myhealth/templates/istio.yaml",
                "        protocol: HTTP\n",
                "        protocol: HTTPS\n      tls:\n        mode: SIMPLE\n        credentialName: myhealth-api-tls\n",
            )),
            "serves HTTPS with Secret `myhealth-api-tls`, which nothing creates",
        ),
        (
            "Prometheus scrapes in plain text under STRICT mTLS",
            Box::new(edit("helm/values-dev.yaml", "scrapeScheme: https", "scrapeScheme: http")),
            "scrapes `http` with",
        ),
        (
            "the AuthorizationPolicy names another Prometheus",
            Box::new(edit(
                "helm/values-dev.yaml",
                "prometheusServiceAccount: kube-prometheus-stack-prometheus",
                "prometheusServiceAccount: prometheus",
            )),
            "does not let Prometheus (`cluster.local/ns/monitoring/sa/kube-prometheus-stack-prometheus`) GET /metrics",
        ),
        (
            "an image from a repository the Terraform does not create",
            Box::new(edit("helm/values-dev.yaml", "image: myhealth-dev/api-service", "image: myhealth-dev/api")),
            "pulls `myhealth-dev/api`, which the Terraform does not create",
        ),
        (
            "ArgoCD looks for the chart elsewhere",
            Box::new(edit("argocd/dev/application.yaml", "path: generated/helm/myhealth", "path: generated/helm/acme")),
            "points at `generated/helm/acme`, where no chart is rendered",
        ),
        (
            "the services' project loses the gateway's namespace",
            Box::new(edit(
                "argocd/dev/project.yaml",
                "      namespace: istio-system\n",
                "      namespace: elsewhere\n",
            )),
            "the chart writes TargetGroupBinding istio-system/myhealth-ingress",
        ),
    ];
    let mut missed = Vec::new();
    for (what, mutate, expected) in &cases {
        let platform = platform::load_mutated("myhealth.toml", mutate);
        let problems = all_checks(&platform);
        if !problems.iter().any(|p| p.contains(expected)) {
            missed.push(format!(
                "{what}: expected a problem containing\n    {expected}\n  got:\n    {}",
                problems.join("\n    ")
            ));
        }
    }
    assert!(missed.is_empty(), "link checks that did not fail:\n  {}", missed.join("\n  "));
}

/// The no-mesh path (the moto fixture): trusting more than the load
/// balancer's subnets is found.
#[test]
fn without_the_mesh_only_the_load_balancers_subnets_are_trusted() {
    let platform = platform::load_mutated(
        "tests/fixtures/moto.toml",
        edit("helm/values-dev.yaml", "TRUSTED_PROXIES: 10.0.128.0/20,10.0.144.0/20", "TRUSTED_PROXIES: 0.0.0.0/0"),
    );
    let found = all_checks(&platform);
    assert!(
        found
            .iter()
            .any(|p| p.contains("trusts `X-Forwarded-For` from Some(\"0.0.0.0/0\"), but the load balancer sits in")),
        "{found:#?}"
    );
}
