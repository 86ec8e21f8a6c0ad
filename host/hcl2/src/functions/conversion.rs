//! Type conversion functions.

use hcl::Value;

use super::{Table, fixed, to_str};

pub(super) fn register(t: &mut Table) {
    t.push((
        "tostring",
        fixed(1, |a| match &a[0] {
            Value::Null => Ok(Value::Null),
            v => to_str(v)
                .map(Value::String)
                .ok_or_else(|| "cannot convert to string".to_string()),
        }),
    ));
    t.push((
        "tonumber",
        fixed(1, |a| match &a[0] {
            Value::Null => Ok(Value::Null),
            Value::Number(n) => Ok(Value::Number(*n)),
            Value::String(s) => s
                .parse::<f64>()
                .map_err(|_| format!("cannot convert {s:?} to number: a number is required"))
                .and_then(super::num),
            _ => Err("cannot convert to number".into()),
        }),
    ));
    t.push((
        "tobool",
        fixed(1, |a| match &a[0] {
            Value::Null => Ok(Value::Null),
            Value::Bool(b) => Ok(Value::Bool(*b)),
            Value::String(s) if s == "true" => Ok(Value::Bool(true)),
            Value::String(s) if s == "false" => Ok(Value::Bool(false)),
            _ => Err("cannot convert to bool: a bool is required".into()),
        }),
    ));
    t.push((
        "tolist",
        fixed(1, |a| match &a[0] {
            Value::Array(items) => Ok(Value::Array(items.clone())),
            _ => Err("cannot convert to list".into()),
        }),
    ));
    t.push((
        "toset",
        fixed(1, |a| match &a[0] {
            Value::Array(items) => {
                let mut out: Vec<Value> = Vec::new();
                for i in items {
                    if !out.contains(i) {
                        out.push(i.clone());
                    }
                }
                Ok(Value::Array(out))
            }
            _ => Err("cannot convert to set".into()),
        }),
    ));
    t.push((
        "tomap",
        fixed(1, |a| match &a[0] {
            Value::Object(map) => Ok(Value::Object(map.clone())),
            _ => Err("cannot convert to map".into()),
        }),
    ));
}
