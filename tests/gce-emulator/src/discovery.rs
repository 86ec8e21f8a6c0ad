//! Request validation driven by Google's Compute v1 discovery document.
//!
//! The document is loaded at runtime (never vendored). It is used to check, for each method
//! the emulator implements: path parameters against their `pattern`s, query parameters
//! (unknown names, wrong types, `minimum`/`maximum`, enums), and request bodies (unknown
//! fields, wrong JSON types, bad enum values, int64-as-string rules).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use regex::Regex;
use serde_json::{Map, Value, json};

use crate::error::ApiError;

/// A parsed discovery document plus lookup tables.
#[derive(Debug)]
pub struct Discovery {
    schemas: Map<String, Value>,
    global_params: Map<String, Value>,
    methods: HashMap<String, Value>,
    regexes: Mutex<HashMap<String, Option<Regex>>>,
    /// `revision` of the document.
    pub revision: String,
}

static CACHE: OnceLock<Mutex<HashMap<PathBuf, Arc<Discovery>>>> = OnceLock::new();

fn collect_methods(resources: &Map<String, Value>, out: &mut HashMap<String, Value>) {
    for res in resources.values() {
        if let Some(Value::Object(methods)) = res.get("methods") {
            for m in methods.values() {
                if let Some(id) = m.get("id").and_then(Value::as_str) {
                    out.insert(id.to_string(), m.clone());
                }
            }
        }
        if let Some(Value::Object(sub)) = res.get("resources") {
            collect_methods(sub, out);
        }
    }
}

fn render(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 120 {
        format!("{}...", &s[..s.floor_char_boundary(120)])
    } else {
        s
    }
}

/// The embedded copy of Google's Compute v1 discovery document.
fn builtin() -> Result<Vec<u8>, String> {
    use std::io::Read;
    const GZ: &[u8] = include_bytes!("../data/compute-v1-discovery.json.gz");
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(GZ)
        .read_to_end(&mut out)
        .map_err(|e| format!("decompressing the built-in discovery document: {e}"))?;
    Ok(out)
}

fn payload_error(msg: String) -> ApiError {
    ApiError::invalid(format!("Invalid JSON payload received. {msg}"))
}

impl Discovery {
    /// Loads (and caches per path) the document at `path`.
    pub fn load(path: &Path) -> Result<Arc<Discovery>, String> {
        let cache = CACHE.get_or_init(Default::default);
        let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if let Some(d) = cache
            .lock()
            .map_err(|_| "discovery cache poisoned")?
            .get(&key)
        {
            return Ok(d.clone());
        }
        let bytes = if path == Path::new(crate::config::DEFAULT_DISCOVERY_PATH) {
            builtin()?
        } else {
            std::fs::read(path)
                .map_err(|e| format!("reading discovery document {}: {e}", path.display()))?
        };
        let doc: Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("parsing discovery document {}: {e}", path.display()))?;
        let d = Arc::new(Self::from_value(doc)?);
        cache
            .lock()
            .map_err(|_| "discovery cache poisoned")?
            .insert(key, d.clone());
        Ok(d)
    }

    /// Builds the tables from a parsed document.
    pub fn from_value(mut doc: Value) -> Result<Discovery, String> {
        let mut schemas = match doc.get_mut("schemas").map(Value::take) {
            Some(Value::Object(s)) => s,
            _ => return Err("discovery document has no schemas".into()),
        };
        // Known gap of revision 20230620: Scheduling.maxRunDuration (sent by the current plugin).
        if let Some(Value::Object(props)) = schemas
            .get_mut("Scheduling")
            .and_then(|s| s.get_mut("properties"))
        {
            props
                .entry("maxRunDuration")
                .or_insert_with(|| json!({"$ref": "Duration"}));
        }
        let global_params = match doc.get("parameters") {
            Some(Value::Object(p)) => p.clone(),
            _ => Map::new(),
        };
        let mut methods = HashMap::new();
        if let Some(Value::Object(res)) = doc.get("resources") {
            collect_methods(res, &mut methods);
        }
        if methods.is_empty() {
            return Err("discovery document has no methods".into());
        }
        Ok(Discovery {
            schemas,
            global_params,
            methods,
            regexes: Mutex::new(HashMap::new()),
            revision: doc
                .get("revision")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        })
    }

    /// The method object for an id such as `compute.instances.insert`.
    pub fn method(&self, id: &str) -> Option<&Value> {
        self.methods.get(id)
    }

    /// Every method: (id, HTTP method, path template).
    pub fn all_methods(&self) -> Vec<(String, String, String)> {
        self.methods
            .iter()
            .filter_map(|(id, m)| {
                Some((
                    id.clone(),
                    m.get("httpMethod")?.as_str()?.to_string(),
                    m.get("path")?.as_str()?.to_string(),
                ))
            })
            .collect()
    }

    fn matches(&self, pattern: &str, value: &str) -> bool {
        let Ok(mut cache) = self.regexes.lock() else {
            return true;
        };
        let re = cache
            .entry(pattern.to_string())
            .or_insert_with(|| Regex::new(&format!("^(?:{pattern})$")).ok());
        re.as_ref().is_none_or(|r| r.is_match(value))
    }

    /// Checks path parameters (patterns) and query parameters of `method_id`.
    pub fn validate_params(
        &self,
        method_id: &str,
        path_params: &[(&str, String)],
        query: &[(String, String)],
    ) -> Result<(), ApiError> {
        let Some(method) = self.method(method_id) else {
            return Ok(());
        };
        let empty = Map::new();
        let params = method
            .get("parameters")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        for (name, value) in path_params {
            if let Some(pattern) = params
                .get(*name)
                .and_then(|p| p.get("pattern"))
                .and_then(Value::as_str)
                && !self.matches(pattern, value)
            {
                return Err(ApiError::invalid_field(
                    name,
                    value,
                    &format!("Must be a match of regex '{pattern}'"),
                ));
            }
        }
        for (name, value) in query {
            let spec = match params.get(name) {
                Some(p) if p.get("location").and_then(Value::as_str) == Some("query") => p,
                _ => match self.global_params.get(name) {
                    Some(p) => p,
                    None => {
                        return Err(payload_error(format!(
                            "Unknown name \"{name}\": Cannot bind query parameter. Field '{name}' could not be found in request message."
                        )));
                    }
                },
            };
            check_query_value(name, value, spec)?;
        }
        Ok(())
    }

    /// Checks a request body against the method's request schema. `None` = no/empty body.
    pub fn validate_body(&self, method_id: &str, body: Option<&Value>) -> Result<(), ApiError> {
        let Some(method) = self.method(method_id) else {
            return Ok(());
        };
        let Some(schema_ref) = method
            .get("request")
            .and_then(|r| r.get("$ref"))
            .and_then(Value::as_str)
        else {
            return Ok(());
        };
        let body = match body {
            None | Some(Value::Null) => return Err(ApiError::required("resource")),
            Some(b) => b,
        };
        self.check(&json!({"$ref": schema_ref}), body, "resource", 0)
            .map_err(payload_error)
    }

    fn check(&self, schema: &Value, v: &Value, path: &str, depth: usize) -> Result<(), String> {
        if v.is_null() || depth > 64 {
            return Ok(());
        }
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let Some(target) = self.schemas.get(r) else {
                return Ok(());
            };
            return self.check_typed(target, v, path, depth, Some(r));
        }
        self.check_typed(schema, v, path, depth, None)
    }

    fn check_typed(
        &self,
        schema: &Value,
        v: &Value,
        path: &str,
        depth: usize,
        name: Option<&str>,
    ) -> Result<(), String> {
        let ty = schema.get("type").and_then(Value::as_str).unwrap_or("any");
        let format = schema.get("format").and_then(Value::as_str);
        let bad = |tname: &str| {
            Err(format!(
                "Invalid value at '{path}' ({tname}), {}",
                render(v)
            ))
        };
        match ty {
            "object" => {
                let tname = format!(
                    "type.googleapis.com/google.cloud.compute.v1.{}",
                    name.unwrap_or("Struct")
                );
                let Value::Object(obj) = v else {
                    return bad(&tname);
                };
                let props = schema.get("properties").and_then(Value::as_object);
                let additional = schema.get("additionalProperties");
                for (k, fv) in obj {
                    if let Some(p) = props.and_then(|p| p.get(k)) {
                        self.check(p, fv, &format!("{path}.{k}"), depth + 1)?;
                    } else if let Some(a) = additional {
                        self.check(a, fv, &format!("{path}[{k}]"), depth + 1)?;
                    } else {
                        return Err(format!(
                            "Unknown name \"{k}\" at '{path}': Cannot find field."
                        ));
                    }
                }
                Ok(())
            }
            "array" => {
                let Value::Array(items) = v else {
                    return bad("TYPE_ARRAY");
                };
                let empty = json!({});
                let item_schema = schema.get("items").unwrap_or(&empty);
                for (i, item) in items.iter().enumerate() {
                    self.check(item_schema, item, &format!("{path}[{i}]"), depth + 1)?;
                }
                Ok(())
            }
            "string" => {
                if let Some(Value::Array(allowed)) = schema.get("enum") {
                    return match v.as_str() {
                        Some(s) if allowed.iter().any(|a| a.as_str() == Some(s)) => Ok(()),
                        _ => bad("TYPE_ENUM"),
                    };
                }
                match format {
                    Some("int64") => int_ok(v, i64::MIN as i128, i64::MAX as i128)
                        .then_some(())
                        .map_or_else(|| bad("TYPE_INT64"), Ok),
                    Some("uint64") => int_ok(v, 0, u64::MAX as i128)
                        .then_some(())
                        .map_or_else(|| bad("TYPE_UINT64"), Ok),
                    _ if v.is_string() => Ok(()),
                    Some("byte") => bad("TYPE_BYTES"),
                    _ => bad("TYPE_STRING"),
                }
            }
            "integer" => {
                let (lo, hi, tname) = match format {
                    Some("uint32") => (0i128, u32::MAX as i128, "TYPE_UINT32"),
                    _ => (i32::MIN as i128, i32::MAX as i128, "TYPE_INT32"),
                };
                if int_ok(v, lo, hi) {
                    Ok(())
                } else {
                    bad(tname)
                }
            }
            "number" => {
                let ok = v.is_number() || v.as_str().is_some_and(|s| s.parse::<f64>().is_ok());
                if ok {
                    Ok(())
                } else {
                    bad(if format == Some("float") {
                        "TYPE_FLOAT"
                    } else {
                        "TYPE_DOUBLE"
                    })
                }
            }
            "boolean" => {
                if v.is_boolean() {
                    Ok(())
                } else {
                    bad("TYPE_BOOL")
                }
            }
            _ => Ok(()),
        }
    }
}

fn int_ok(v: &Value, lo: i128, hi: i128) -> bool {
    let n: Option<i128> = match v {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        Value::String(s) => s.trim().parse::<i128>().ok(),
        _ => None,
    };
    n.is_some_and(|n| n >= lo && n <= hi)
}

fn check_query_value(name: &str, value: &str, spec: &Value) -> Result<(), ApiError> {
    let ty = spec.get("type").and_then(Value::as_str).unwrap_or("string");
    let format = spec.get("format").and_then(Value::as_str);
    let bad = |t: &str| {
        Err(payload_error(format!(
            "Invalid value at '{name}' ({t}), \"{value}\""
        )))
    };
    if let Some(Value::Array(allowed)) = spec.get("enum")
        && !allowed.iter().any(|a| a.as_str() == Some(value))
    {
        return bad("TYPE_ENUM");
    }
    let int = match (ty, format) {
        ("integer", _) | ("string", Some("int64" | "uint64" | "uint32" | "int32")) => {
            match value.parse::<i128>() {
                Ok(n) => Some(n),
                Err(_) => {
                    return bad(if ty == "integer" {
                        "TYPE_INT32"
                    } else {
                        "TYPE_INT64"
                    });
                }
            }
        }
        ("boolean", _) => {
            return if matches!(value, "true" | "false" | "1" | "0") {
                Ok(())
            } else {
                bad("TYPE_BOOL")
            };
        }
        _ => None,
    };
    if let Some(n) = int {
        let limit = |k: &str| {
            spec.get(k)
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<i128>().ok())
        };
        if let Some(min) = limit("minimum")
            && n < min
        {
            return Err(ApiError::invalid_field(
                name,
                value,
                &format!("Must be greater than or equal to {min}"),
            ));
        }
        if let Some(max) = limit("maximum")
            && n > max
        {
            return Err(ApiError::invalid_field(
                name,
                value,
                &format!("Must be less than or equal to {max}"),
            ));
        }
    }
    Ok(())
}
