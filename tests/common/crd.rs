//! Custom resources validated against the real CRD schemas of the pinned
//! add-on versions (vendored under `tests/crds/`, provenance in each file),
//! the way the API server would: the version's `openAPIV3Schema` as a
//! structural schema, where a field the schema does not declare is an error
//! (the server would prune or reject it) unless the schema preserves unknown
//! fields.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

pub struct Crds {
    /// (apiVersion, kind) → validator.
    schemas: HashMap<(String, String), jsonschema::Validator>,
}

impl Crds {
    pub fn load() -> Crds {
        let dir = super::root().join("tests/crds");
        let mut schemas = HashMap::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for doc in serde_yaml_ng::Deserializer::from_str(&text) {
                let crd: Value = serde::Deserialize::deserialize(doc).unwrap();
                let group = crd["spec"]["group"].as_str().unwrap();
                let kind = crd["spec"]["names"]["kind"].as_str().unwrap();
                for v in crd["spec"]["versions"].as_array().unwrap() {
                    if v["served"] != json!(true) {
                        continue;
                    }
                    let mut schema = structural(&v["schema"]["openAPIV3Schema"]);
                    // The API server owns the root's type fields and metadata's shape.
                    schema["properties"]["metadata"] = json!({ "type": "object" });
                    schema["properties"]["apiVersion"] = json!({ "type": "string" });
                    schema["properties"]["kind"] = json!({ "type": "string" });
                    schema["required"] = json!(["apiVersion", "kind"]);
                    let validator = jsonschema::validator_for(&schema)
                        .unwrap_or_else(|e| panic!("{}: {kind} schema: {e}", path.display()));
                    let api = format!("{group}/{}", v["name"].as_str().unwrap());
                    schemas.insert((api, kind.to_string()), validator);
                }
            }
        }
        Crds { schemas }
    }

    pub fn knows(&self, api_version: &str, kind: &str) -> bool {
        self.schemas.contains_key(&(api_version.to_string(), kind.to_string()))
    }

    /// Every violation of `object` against its CRD, as `path: message`.
    pub fn violations(&self, object: &Value) -> Vec<String> {
        let api = object["apiVersion"].as_str().unwrap_or_default();
        let kind = object["kind"].as_str().unwrap_or_default();
        match self.schemas.get(&(api.to_string(), kind.to_string())) {
            None => vec![format!("no CRD for {api}/{kind} in tests/crds/")],
            Some(v) => v.iter_errors(object).map(|e| format!("{}: {e}", e.instance_path())).collect(),
        }
    }
}

/// A CRD's OpenAPI v3 schema as JSON Schema with Kubernetes' structural rules.
fn structural(s: &Value) -> Value {
    let Value::Object(m) = s else { return s.clone() };
    let mut out = Map::new();
    for (k, v) in m {
        match k.as_str() {
            "properties" | "patternProperties" => {
                let props: Map<String, Value> =
                    v.as_object().unwrap().iter().map(|(n, p)| (n.clone(), structural(p))).collect();
                out.insert(k.clone(), Value::Object(props));
            }
            "items" | "not" => {
                out.insert(k.clone(), structural(v));
            }
            "additionalProperties" if v.is_object() => {
                out.insert(k.clone(), structural(v));
            }
            "allOf" | "anyOf" | "oneOf" => {
                out.insert(k.clone(), Value::Array(v.as_array().unwrap().iter().map(structural).collect()));
            }
            // Kubernetes' own formats (int32, byte, …) are no JSON Schema formats.
            "format" | "nullable" => {}
            k if k.starts_with("x-kubernetes-") => {}
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    if m.get("x-kubernetes-int-or-string") == Some(&json!(true)) {
        out.remove("type");
        out.insert("type".into(), json!(["integer", "string"]));
    }
    if m.get("nullable") == Some(&json!(true)) {
        if let Some(t) = out.get("type").and_then(Value::as_str).map(str::to_string) {
            out.insert("type".into(), json!([t, "null"]));
        }
    }
    let preserve = m.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(true));
    let is_object = m.get("type") == Some(&json!("object"));
    if is_object && !preserve && !m.contains_key("additionalProperties") {
        out.insert("additionalProperties".into(), json!(false));
    }
    if m.get("x-kubernetes-embedded-resource") == Some(&json!(true)) {
        let props = out.entry("properties").or_insert_with(|| json!({}));
        for f in ["apiVersion", "kind", "metadata"] {
            props[f] = json!({});
        }
    }
    Value::Object(out)
}
