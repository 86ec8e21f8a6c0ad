//! Decoding a post-processor's raw configuration the way Packer's
//! `config.Decode` does: strip the core's keys, interpolate strings, reject
//! unknown keys (`unknown configuration key: '"k"'`), weakly typed values.

use std::collections::BTreeMap;

use packer_interpolate::{Context, RenderError};
use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde_json::{Map, Value};

use crate::PostProcessEnv;

/// Keys the core handles itself (Packer deletes them from a post-processor's
/// configuration before `Configure`).
const CORE_KEYS: &[&str] = &["type", "name", "only", "except", "keep_input_artifact"];

/// `common.PackerConfig` keys every configuration accepts (`packer_*`).
const PACKER_KEYS: &[&str] = &[
    "packer_build_name",
    "packer_builder_type",
    "packer_core_version",
    "packer_debug",
    "packer_force",
    "packer_on_error",
    "packer_user_variables",
    "packer_sensitive_variables",
];

/// A decoded configuration and the `keep_input_artifact` found in it, if any.
pub(crate) struct Decoded<T> {
    pub(crate) config: T,
    pub(crate) keep_input_artifact: Option<bool>,
}

/// Decodes `raw` into `T`. String values are interpolated with `env.ctx`
/// except for the top-level keys in `no_interpolate` (rendered later, while
/// running, as Packer's `InterpolateFilter.Exclude`).
pub(crate) fn decode<T: DeserializeOwned>(
    raw: Value,
    no_interpolate: &[&str],
    env: &PostProcessEnv,
) -> Result<Decoded<T>, Vec<String>> {
    let mut map = match raw {
        Value::Null => Map::new(),
        Value::Object(m) => m,
        other => {
            return Err(vec![format!(
                "'' expected a map, got '{}'",
                go_kind(&other)
            )]);
        }
    };
    let keep_input_artifact = match map.get("keep_input_artifact") {
        None | Some(Value::Null) => None,
        Some(v) => Some(weak_bool(v).map_err(|e| vec![format!("'keep_input_artifact' {e}")])?),
    };
    for k in CORE_KEYS.iter().chain(PACKER_KEYS) {
        map.remove(*k);
    }
    let mut excluded = Map::new();
    for k in no_interpolate {
        if let Some(v) = map.remove(*k) {
            excluded.insert((*k).to_string(), v);
        }
    }
    let rendered = packer_interpolate::render_json(&Value::Object(map), &env.ctx)?;
    let mut map = match rendered {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    map.extend(excluded);

    // Unknown keys and bad values are worded as for provisioners (shared decoder).
    let config = packer_provision::config::decode::<T>(Value::Object(map))?;
    Ok(Decoded {
        config,
        keep_input_artifact,
    })
}

/// Go's name for the type a JSON value decodes to.
fn go_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

fn go_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".into(),
        other => other.to_string(),
    }
}

fn unconvertible(expected: &str, v: &Value) -> String {
    format!(
        "expected type '{expected}', got unconvertible type '{}', value: '{}'",
        go_kind(v),
        go_value(v)
    )
}

/// mapstructure's weak bool: bools, numbers (non-zero is true) and the
/// strings Go's `strconv.ParseBool` accepts.
pub(crate) fn weak_bool(v: &Value) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => Ok(n.as_f64().is_some_and(|f| f != 0.0)),
        Value::String(s) => match s.as_str() {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
            "0" | "f" | "F" | "FALSE" | "false" | "False" | "" => Ok(false),
            _ => Err(format!(
                "cannot parse value as bool: strconv.ParseBool: parsing \"{s}\": invalid syntax"
            )),
        },
        other => Err(unconvertible("bool", other)),
    }
}

fn weak_int(v: &Value) -> Result<i64, String> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .ok_or_else(|| unconvertible("int", v)),
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::String(s) if s.is_empty() => Ok(0),
        Value::String(s) => s.trim().parse::<i64>().map_err(|_| {
            format!("cannot parse value as int: strconv.ParseInt: parsing \"{s}\": invalid syntax")
        }),
        other => Err(unconvertible("int", other)),
    }
}

fn weak_string(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(if *b { "1".into() } else { "0".into() }),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(unconvertible("string", other)),
    }
}

/// `Option<bool>`, weakly typed.
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Value::deserialize_opt(d)? {
        None => Ok(None),
        Some(v) => weak_bool(&v).map(Some).map_err(D::Error::custom),
    }
}

/// `Option<i64>`, weakly typed.
pub(crate) fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Value::deserialize_opt(d)? {
        None => Ok(None),
        Some(v) => weak_int(&v).map(Some).map_err(D::Error::custom),
    }
}

/// `Option<String>`, weakly typed.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize_opt(d)? {
        None => Ok(None),
        Some(v) => weak_string(&v).map(Some).map_err(D::Error::custom),
    }
}

/// `Option<Vec<String>>`, weakly typed: a single string is a one-item list.
pub(crate) fn opt_string_list<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<String>>, D::Error> {
    match Value::deserialize_opt(d)? {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| weak_string(v).map_err(|e| D::Error::custom(format!("[{i}] {e}"))))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(Value::Object(_)) => Err(D::Error::custom(
            "source data must be an array or slice, got map",
        )),
        Some(v) => weak_string(&v)
            .map(|s| Some(vec![s]))
            .map_err(D::Error::custom),
    }
}

/// `Option<BTreeMap<String, String>>`, weakly typed values.
pub(crate) fn opt_string_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<BTreeMap<String, String>>, D::Error> {
    match Value::deserialize_opt(d)? {
        None => Ok(None),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| {
                weak_string(v)
                    .map(|s| (k.clone(), s))
                    .map_err(|e| D::Error::custom(format!("[{k}] {e}")))
            })
            .collect::<Result<BTreeMap<_, _>, _>>()
            .map(Some),
        Some(v) => Err(D::Error::custom(unconvertible("map[string]string", &v))),
    }
}

trait DeserializeOpt {
    fn deserialize_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error>;
}

impl DeserializeOpt for Value {
    fn deserialize_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
        let v: Value = serde::Deserialize::deserialize(d)?;
        Ok(if v.is_null() { None } else { Some(v) })
    }
}

/// Go's `interpolate.Validate`: parse only. Returns Packer's
/// `Error parsing target template: <err>` for a malformed template.
pub(crate) fn validate_template(template: &str) -> Result<(), String> {
    let ctx = Context::new("");
    match packer_interpolate::render(template, &ctx) {
        Err(RenderError::Parse(e)) => Err(format!("Error parsing target template: {e}")),
        _ => Ok(()),
    }
}

/// Renders a run-time template (an `output` path, a `custom_data` value):
/// `env.ctx` plus the artifact's generated data plus `extra` (which wins).
pub(crate) fn render_runtime(
    template: &str,
    env: &PostProcessEnv,
    state: &BTreeMap<String, String>,
    extra: &[(&str, &str)],
) -> Result<String, String> {
    if !packer_interpolate::has_actions(template) {
        return Ok(template.to_string());
    }
    let mut ctx = env.ctx.clone();
    for (k, v) in state {
        ctx.data.insert(k.clone(), v.clone());
    }
    for (k, v) in extra {
        ctx.data.insert((*k).to_string(), (*v).to_string());
    }
    packer_interpolate::render(template, &ctx).map_err(|e| e.to_string())
}
