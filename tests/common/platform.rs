//! The generated platform as the tests see it: a config rendered into a
//! temporary tree; per environment, the chart rendered by the real Helm SDK
//! as ArgoCD would (its Application's release, namespace and values file),
//! the ArgoCD objects, and the Terraform root parsed with `hcl-rs` and
//! evaluated far enough to read names, ports and IAM statements out of it.
//!
//! The Terraform evaluation is deliberately small: variables come from
//! `terraform.tfvars`, modules are evaluated from their own source with the
//! inputs the root gives them, and ARNs that only exist after an apply are
//! symbols (`sm:<secret name>`, `ssm:<parameter>`, `rds-master`,
//! `tg:<target group>`, `dbuser:<user>`), derived from the very resources
//! that would produce them. Whatever the tests read, they read from the
//! rendered files — never from myhealthctl's own naming code.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use hcl::eval::{Context, Evaluate, FuncArgs, FuncDef, ParamType};
use hcl::{Block, Body, Expression};
use serde_json::{Value, json};

use super::{cmd, root};

/// One rendered Kubernetes object, with the file it came from.
#[derive(Clone, Debug)]
pub struct Obj {
    pub file: String,
    pub v: Value,
}

impl Obj {
    pub fn kind(&self) -> &str {
        self.v["kind"].as_str().unwrap_or_default()
    }
    pub fn name(&self) -> &str {
        self.v["metadata"]["name"].as_str().unwrap_or_default()
    }
    pub fn namespace(&self) -> &str {
        self.v["metadata"]["namespace"].as_str().unwrap_or_default()
    }
    /// `Kind ns/name (file)`, for messages.
    pub fn id(&self) -> String {
        format!("{} {}/{} ({})", self.kind(), self.namespace(), self.name(), self.file)
    }
}

pub struct Env {
    pub name: String,
    /// The chart, rendered.
    pub k8s: Vec<Obj>,
    /// `generated/argocd/<env>/*.yaml`.
    pub argocd: Vec<Obj>,
    pub tf: Tf,
}

pub struct Platform {
    pub label: String,
    pub dir: tempfile::TempDir,
    pub envs: Vec<Env>,
    /// `workflows/build.yml`, if rendered.
    pub build_workflow: Option<Value>,
}

/// Every YAML document of a file.
pub fn yaml_docs(text: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .filter(|v: &Value| !v.is_null())
        .collect()
}

fn files(dir: &Path, recurse: bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            if recurse {
                out.extend(files(&p, true));
            }
        } else if p.extension().is_some_and(|e| e == "yaml") {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn objects(dir: &Path, recurse: bool) -> Vec<Obj> {
    let mut out = Vec::new();
    for p in files(dir, recurse) {
        let file = p.strip_prefix(dir).unwrap().display().to_string();
        for v in yaml_docs(&std::fs::read_to_string(&p).unwrap()) {
            out.push(Obj { file: file.clone(), v });
        }
    }
    out
}

/// Render `config` into a temporary tree; `mutate` may change the rendered
/// files before they are read (the mutation tests break one end of a link).
pub fn load(config: &str) -> Platform {
    load_mutated(config, |_| {})
}

pub fn load_mutated(config: &str, mutate: impl Fn(&Path)) -> Platform {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("generated");
    cmd().args(["render", "--config"]).arg(root().join(config)).arg("--out").arg(&out).assert().success();
    mutate(&out);
    let mut envs = Vec::new();
    let mut names: Vec<String> =
        std::fs::read_dir(out.join("argocd")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    for name in names {
        let argocd = objects(&out.join("argocd").join(&name), false);
        let tf = Tf::load(&out.join("terraform"), &name);
        // Render the chart as ArgoCD would: the chart Application's path, release, namespace, values.
        let app = argocd
            .iter()
            .find(|o| o.kind() == "Application" && o.v["spec"]["source"]["path"].is_string())
            .unwrap_or_else(|| panic!("{config}/{name}: no Application of the chart"));
        let src = &app.v["spec"]["source"];
        let path = src["path"].as_str().unwrap();
        let chart = out.join(path.strip_prefix("generated/").unwrap_or(path));
        let values = chart.join(src["helm"]["valueFiles"][0].as_str().unwrap());
        let release = src["helm"]["releaseName"].as_str().unwrap();
        let namespace = app.v["spec"]["destination"]["namespace"].as_str().unwrap();
        let rendered = dir.path().join(format!("rendered/{name}"));
        if !values.is_file() {
            // ArgoCD would find nothing there either: the GitOps check says so.
            envs.push(Env { name, k8s: Vec::new(), argocd, tf });
            continue;
        }
        let o = Command::new("python3")
            .arg(root().join("tests/helm/render.py"))
            .args(["render".as_ref(), chart.as_os_str(), values.as_os_str(), rendered.as_os_str()])
            .args([release, namespace])
            .output()
            .unwrap();
        assert!(o.status.success(), "{config}/{name}: Helm refused the chart: {}", String::from_utf8_lossy(&o.stderr));
        let k8s = objects(&rendered, true);
        envs.push(Env { name, k8s, argocd, tf });
    }
    let build_workflow = std::fs::read_to_string(out.join("workflows/build.yml"))
        .ok()
        .map(|t| yaml_docs(&t).into_iter().next().unwrap());
    Platform { label: config.to_string(), dir, envs, build_workflow }
}

// --- Terraform --------------------------------------------------------------

/// An environment's Terraform: the root's blocks, its variables' values and
/// the modules it calls (by block name), each with its own source.
pub struct Tf {
    pub vars: Value,
    pub root: Body,
    /// module block name → (its source body, the inputs the root gives it, evaluated).
    pub modules: BTreeMap<String, (Body, Value)>,
    /// The root's evaluated `locals`, plus symbols for what only exists after apply.
    pub ctx_vals: Value,
}

fn parse_dir(dir: &Path) -> Body {
    let mut text = String::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.extension().is_some_and(|e| e == "tf") {
            text.push_str(&std::fs::read_to_string(&p).unwrap());
            text.push('\n');
        }
    }
    hcl::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

fn hcl_to_json(v: &hcl::Value) -> Value {
    serde_json::to_value(v).unwrap()
}

fn json_to_hcl(v: &Value) -> hcl::Value {
    hcl::to_value(v).unwrap()
}

pub fn blocks<'a>(body: &'a Body, ident: &'a str) -> impl Iterator<Item = &'a Block> + 'a {
    body.blocks().filter(move |b| b.identifier() == ident)
}

pub fn block<'a>(body: &'a Body, ident: &str, labels: &[&str]) -> Option<&'a Block> {
    body.blocks().find(|b| {
        b.identifier() == ident
            && b.labels().len() == labels.len()
            && b.labels().iter().zip(labels).all(|(l, want)| l.as_str() == *want)
    })
}

pub fn attr<'a>(b: &'a Block, name: &str) -> Option<&'a Expression> {
    b.body().attributes().find(|a| a.key() == name).map(|a| a.expr())
}

fn funcs(ctx: &mut Context<'_>) {
    fn merge(args: FuncArgs) -> Result<hcl::Value, String> {
        let mut out = hcl::Map::new();
        for a in args.iter() {
            match a {
                hcl::Value::Object(m) => out.extend(m.clone()),
                hcl::Value::Null => {}
                other => return Err(format!("merge: not an object: {other}")),
            }
        }
        Ok(hcl::Value::Object(out))
    }
    fn values(args: FuncArgs) -> Result<hcl::Value, String> {
        match &args[0] {
            hcl::Value::Object(m) => Ok(hcl::Value::Array(m.values().cloned().collect())),
            other => Err(format!("values: not an object: {other}")),
        }
    }
    fn keys(args: FuncArgs) -> Result<hcl::Value, String> {
        match &args[0] {
            hcl::Value::Object(m) => Ok(hcl::Value::Array(m.keys().cloned().map(hcl::Value::from).collect())),
            other => Err(format!("keys: not an object: {other}")),
        }
    }
    fn concat(args: FuncArgs) -> Result<hcl::Value, String> {
        let mut out = Vec::new();
        for a in args.iter() {
            match a {
                hcl::Value::Array(v) => out.extend(v.clone()),
                other => return Err(format!("concat: not a list: {other}")),
            }
        }
        Ok(hcl::Value::Array(out))
    }
    fn passthrough(args: FuncArgs) -> Result<hcl::Value, String> {
        Ok(args[0].clone())
    }
    fn tostring(args: FuncArgs) -> Result<hcl::Value, String> {
        Ok(hcl::Value::from(match &args[0] {
            hcl::Value::String(s) => s.clone(),
            other => other.to_string(),
        }))
    }
    fn substr(args: FuncArgs) -> Result<hcl::Value, String> {
        let s = args[0].as_str().ok_or("substr: not a string")?;
        let off = args[1].as_u64().ok_or("substr: offset")? as usize;
        let len = args[2].as_u64().ok_or("substr: length")? as usize;
        Ok(hcl::Value::from(s.chars().skip(off).take(len).collect::<String>()))
    }
    fn jsonencode(args: FuncArgs) -> Result<hcl::Value, String> {
        Ok(hcl::Value::from(serde_json::to_string(&hcl_to_json(&args[0])).unwrap()))
    }
    ctx.declare_func("merge", FuncDef::builder().variadic_param(ParamType::Any).build(merge));
    ctx.declare_func("concat", FuncDef::builder().variadic_param(ParamType::Any).build(concat));
    ctx.declare_func("values", FuncDef::new(values, [ParamType::Any]));
    ctx.declare_func("keys", FuncDef::new(keys, [ParamType::Any]));
    ctx.declare_func("toset", FuncDef::new(passthrough, [ParamType::Any]));
    ctx.declare_func("compact", FuncDef::new(passthrough, [ParamType::Any]));
    ctx.declare_func("tostring", FuncDef::new(tostring, [ParamType::Any]));
    ctx.declare_func("jsonencode", FuncDef::new(jsonencode, [ParamType::Any]));
    ctx.declare_func("substr", FuncDef::new(substr, [ParamType::Any, ParamType::Any, ParamType::Any]));
}

/// Evaluate `e` with the given top-level variables (`var`, `local`, `each`, …).
pub fn eval(e: &Expression, vars: &Value) -> Result<Value, String> {
    let mut ctx = Context::new();
    funcs(&mut ctx);
    for (k, v) in vars.as_object().unwrap() {
        ctx.declare_var(k.as_str(), json_to_hcl(v));
    }
    e.evaluate(&ctx).map(|v| hcl_to_json(&v)).map_err(|e| e.to_string())
}

impl Tf {
    fn load(terraform: &Path, env: &str) -> Tf {
        let dir = terraform.join("envs").join(env);
        let root = parse_dir(&dir);
        let tfvars = hcl::parse(&std::fs::read_to_string(dir.join("terraform.tfvars")).unwrap()).unwrap();
        let mut vars = serde_json::Map::new();
        for a in tfvars.attributes() {
            vars.insert(a.key().to_string(), eval(a.expr(), &json!({})).unwrap());
        }
        let vars = Value::Object(vars);
        let mut tf = Tf { vars, root, modules: BTreeMap::new(), ctx_vals: json!({}) };
        tf.evaluate(terraform, &dir);
        tf
    }

    /// What a root expression sees: `var`, `local`, `module.*` outputs (modelled
    /// where later links need them, else symbols), `data`, `aws_*` resources.
    pub fn scope(&self) -> Value {
        let mut s = self.ctx_vals.clone();
        s["var"] = self.vars.clone();
        s
    }

    fn evaluate(&mut self, terraform: &Path, dir: &Path) {
        // Module sources, and every output as a symbol first.
        let mut module_outputs = serde_json::Map::new();
        let mut sources = BTreeMap::new();
        for b in blocks(&self.root, "module") {
            let name = b.labels()[0].as_str().to_string();
            let source = eval(attr(b, "source").unwrap(), &json!({})).unwrap();
            let mdir = dir.join(source.as_str().unwrap());
            let body = parse_dir(&mdir);
            let mut outs = serde_json::Map::new();
            for o in blocks(&body, "output") {
                let out = o.labels()[0].as_str();
                outs.insert(out.to_string(), json!(format!("<module.{name}.{out}>")));
            }
            module_outputs.insert(name.clone(), Value::Object(outs));
            sources.insert(name, body);
        }
        let _ = terraform;
        self.ctx_vals = json!({
            "module": module_outputs,
            "data": { "aws_partition": { "current": { "partition": "aws" } } },
            "local": {},
        });
        // Locals that need only variables.
        self.eval_locals();
        // The secrets module: its ARNs by key, from the resource that makes them.
        if let Some(body) = sources.get("secrets") {
            let inputs = self.module_inputs("secrets");
            let r = block(body, "resource", &["aws_secretsmanager_secret", "this"]).expect("secrets resource");
            let name_expr = attr(r, "name").unwrap();
            let mut arns = serde_json::Map::new();
            for (k, v) in inputs["secrets"].as_object().into_iter().flatten() {
                let name = eval(name_expr, &json!({ "var": inputs, "each": { "key": k, "value": v } })).unwrap();
                arns.insert(k.clone(), json!(format!("sm:{}", name.as_str().unwrap())));
            }
            self.ctx_vals["module"]["secrets"]["arns"] = Value::Object(arns);
            self.ctx_vals["module"]["secrets"]["kms_key_arn"] = json!("kms:secrets");
        }
        self.ctx_vals["module"]["rds"]["master_user_secret_arn"] = json!("rds-master");
        self.ctx_vals["module"]["rds"]["kms_key_arn"] = json!("kms:rds");
        self.ctx_vals["module"]["rds"]["resource_id"] = json!("<rds-resource-id>");
        // The ingress target group: its ARN names it.
        if let Some(body) = sources.get("api_gateway") {
            let inputs = self.module_inputs("api_gateway");
            let tg = block(body, "resource", &["aws_lb_target_group", "ingress"]).unwrap();
            let name = eval(attr(tg, "name").unwrap(), &json!({ "var": inputs })).unwrap();
            self.ctx_vals["module"]["api_gateway"]["ingress_target_group_arn"] =
                json!(format!("tg:{}", name.as_str().unwrap()));
        }
        // Resources of the root whose ARN policies name.
        for r in blocks(&self.root, "resource") {
            let (ty, name) = (r.labels()[0].as_str(), r.labels()[1].as_str());
            if ty == "aws_ssm_parameter" {
                let n = eval(attr(r, "name").unwrap(), &self.scope()).unwrap();
                self.ctx_vals[ty][name] = json!({ "arn": format!("ssm:{}", n.as_str().unwrap()) });
            }
        }
        // Policy documents of the root, as IAM JSON.
        let mut docs = serde_json::Map::new();
        for d in blocks(&self.root, "data").filter(|d| d.labels()[0].as_str() == "aws_iam_policy_document") {
            let name = d.labels()[1].as_str().to_string();
            match attr(d, "for_each") {
                Some(fe) => {
                    let each = eval(fe, &self.scope()).unwrap();
                    let mut per = serde_json::Map::new();
                    for (k, v) in each.as_object().into_iter().flatten() {
                        let mut scope = self.scope();
                        scope["each"] = json!({ "key": k, "value": v });
                        per.insert(k.clone(), json!({ "json": policy(d, &scope).to_string() }));
                    }
                    docs.insert(name, Value::Object(per));
                }
                None => {
                    docs.insert(name, json!({ "json": policy(d, &self.scope()).to_string() }));
                }
            }
        }
        self.ctx_vals["data"]["aws_iam_policy_document"] = Value::Object(docs);
        self.eval_locals();
        for (name, body) in sources {
            let inputs = self.module_inputs(&name);
            self.modules.insert(name, (body, inputs));
        }
    }

    fn eval_locals(&mut self) {
        let locals: Vec<(String, Expression)> = blocks(&self.root, "locals")
            .flat_map(|b| b.body().attributes().map(|a| (a.key().to_string(), a.expr().clone())))
            .collect();
        for (k, e) in locals {
            if let Ok(v) = eval(&e, &self.scope()) {
                self.ctx_vals["local"][k] = v;
            }
        }
    }

    /// The inputs the root gives module `name`, evaluated (unknown ones omitted).
    pub fn module_inputs(&self, name: &str) -> Value {
        let b = block(&self.root, "module", &[name]).unwrap_or_else(|| panic!("no module `{name}`"));
        let mut m = serde_json::Map::new();
        for a in b.body().attributes() {
            if let Ok(v) = eval(a.expr(), &self.scope()) {
                m.insert(a.key().to_string(), v);
            }
        }
        Value::Object(m)
    }

    /// A module's source and inputs.
    pub fn module(&self, name: &str) -> (&Body, &Value) {
        let (b, v) = self.modules.get(name).unwrap_or_else(|| panic!("no module `{name}`"));
        (b, v)
    }

    /// IAM roles for service accounts, as the eks module makes them:
    /// role name → (trust subject, policy JSON).
    pub fn irsa_roles(&self) -> BTreeMap<String, (String, Value)> {
        let (body, inputs) = self.module("eks");
        let assume = block(body, "data", &["aws_iam_policy_document", "irsa_assume"]).unwrap();
        let each = eval(attr(assume, "for_each").unwrap(), &json!({ "var": inputs })).unwrap();
        let role = block(body, "resource", &["aws_iam_role", "irsa"]).unwrap();
        let mut out = BTreeMap::new();
        for (k, v) in each.as_object().unwrap() {
            let scope = json!({ "var": inputs, "each": { "key": k, "value": v }, "local": { "oidc_issuer": "oidc" } });
            let doc = policy(assume, &scope);
            let subject = doc["Statement"][0]["Condition"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["variable"] == "oidc:sub")
                .map(|c| c["values"][0].as_str().unwrap().to_string())
                .unwrap();
            let name = eval(attr(role, "name").unwrap(), &scope).unwrap().as_str().unwrap().to_string();
            let policy: Value = inputs["service_account_roles"][k]["policy_json"]
                .as_str()
                .map(|p| serde_json::from_str(p).unwrap())
                .unwrap_or(Value::Null);
            out.insert(name, (subject, policy));
        }
        out
    }
}

/// An `aws_iam_policy_document` as IAM JSON (actions and resources of each
/// statement; conditions as {test, variable, values}), where evaluable.
pub fn policy(d: &Block, scope: &Value) -> Value {
    let mut statements = Vec::new();
    for s in d.body().blocks().filter(|b| b.identifier() == "statement") {
        let get = |n: &str| attr(s, n).map(|e| eval(e, scope).unwrap_or_else(|err| json!(format!("<{err}>"))));
        let conditions: Vec<Value> = s
            .body()
            .blocks()
            .filter(|b| b.identifier() == "condition")
            .map(|c| {
                json!({
                    "test": eval(attr(c, "test").unwrap(), scope).unwrap_or(Value::Null),
                    "variable": eval(attr(c, "variable").unwrap(), scope).unwrap_or(Value::Null),
                    "values": eval(attr(c, "values").unwrap(), scope).unwrap_or(Value::Null),
                })
            })
            .collect();
        statements.push(json!({
            "Action": get("actions").unwrap_or(json!([])),
            "Resource": get("resources").unwrap_or(json!([])),
            "Condition": conditions,
        }));
    }
    json!({ "Statement": statements })
}

/// Whether a policy allows `action` on `resource` (exact resource symbols; `*` in actions).
pub fn allows(policy: &Value, action: &str, resource: &str) -> bool {
    policy["Statement"].as_array().into_iter().flatten().any(|s| {
        let acts = s["Action"].as_array().cloned().unwrap_or_default();
        let res = s["Resource"].as_array().cloned().unwrap_or_default();
        acts.iter().any(|a| {
            a == action || a.as_str().is_some_and(|a| a.ends_with('*') && action.starts_with(&a[..a.len() - 1]))
        }) && res.iter().any(|r| r == resource)
    })
}
