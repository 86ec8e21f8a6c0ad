//! Collection functions.

use hcl::Value;
use hcl::eval::FuncArgs;

use super::{Table, fixed, int_arg, list_arg, map_arg, num, num_arg, str_arg, to_str, variadic};

pub(super) fn register(t: &mut Table) {
    t.push(("length", fixed(1, length)));
    t.push(("concat", variadic(0, concat)));
    t.push((
        "contains",
        fixed(2, |a| Ok(Value::Bool(list_arg(&a, 0)?.contains(&a[1])))),
    ));
    t.push((
        "keys",
        fixed(1, |a| {
            Ok(Value::Array(
                sorted(map_arg(&a, 0)?)
                    .into_iter()
                    .map(|(k, _)| Value::String(k))
                    .collect(),
            ))
        }),
    ));
    t.push((
        "values",
        fixed(1, |a| {
            Ok(Value::Array(
                sorted(map_arg(&a, 0)?)
                    .into_iter()
                    .map(|(_, v)| v)
                    .collect(),
            ))
        }),
    ));
    t.push(("lookup", variadic(2, lookup)));
    t.push(("merge", variadic(0, merge)));
    t.push((
        "flatten",
        fixed(1, |a| {
            let mut out = Vec::new();
            flatten(list_arg(&a, 0)?, &mut out);
            Ok(Value::Array(out))
        }),
    ));
    t.push((
        "distinct",
        fixed(1, |a| Ok(Value::Array(distinct(list_arg(&a, 0)?)))),
    ));
    t.push(("element", fixed(2, element)));
    t.push((
        "index",
        fixed(2, |a| {
            let list = list_arg(&a, 0)?;
            list.iter()
                .position(|v| *v == a[1])
                .map(|i| Value::from(i as u64))
                .ok_or_else(|| "item not found".to_string())
        }),
    ));
    t.push(("range", variadic(0, range)));
    t.push((
        "reverse",
        fixed(1, |a| {
            Ok(Value::Array(list_arg(&a, 0)?.into_iter().rev().collect()))
        }),
    ));
    t.push(("slice", fixed(3, slice)));
    t.push((
        "sort",
        fixed(1, |a| {
            let mut items = list_arg(&a, 0)?
                .iter()
                .map(|v| to_str(v).ok_or("sort: elements must be strings"))
                .collect::<Result<Vec<_>, _>>()?;
            items.sort();
            Ok(Value::Array(items.into_iter().map(Value::String).collect()))
        }),
    ));
    t.push((
        "zipmap",
        fixed(2, |a| {
            let (keys, values) = (list_arg(&a, 0)?, list_arg(&a, 1)?);
            if keys.len() != values.len() {
                return Err(format!(
                    "number of keys ({}) does not match number of values ({})",
                    keys.len(),
                    values.len()
                ));
            }
            let mut map = hcl::Map::new();
            for (k, v) in keys.iter().zip(values) {
                map.insert(to_str(k).ok_or("keys must be strings")?, v);
            }
            Ok(Value::Object(map))
        }),
    ));
    t.push((
        "coalesce",
        variadic(0, |a| {
            a.iter()
                .find(|v| !matches!(v, Value::Null) && **v != Value::String(String::new()))
                .cloned()
                .ok_or_else(|| "no non-null, non-empty-string arguments".to_string())
        }),
    ));
    t.push((
        "coalescelist",
        variadic(0, |a| {
            a.iter()
                .find(|v| matches!(v, Value::Array(items) if !items.is_empty()))
                .cloned()
                .ok_or_else(|| "no non-null arguments".to_string())
        }),
    ));
    t.push((
        "compact",
        fixed(1, |a| {
            Ok(Value::Array(
                list_arg(&a, 0)?
                    .into_iter()
                    .filter(|v| !matches!(v, Value::Null) && *v != Value::String(String::new()))
                    .collect(),
            ))
        }),
    ));
    t.push((
        "chunklist",
        fixed(2, |a| {
            let list = list_arg(&a, 0)?;
            let size = int_arg(&a, 1)?;
            if size < 0 {
                return Err("the size argument must be positive".into());
            }
            if size == 0 {
                return Ok(Value::Array(vec![Value::Array(list)]));
            }
            Ok(Value::Array(
                list.chunks(size as usize)
                    .map(|c| Value::Array(c.to_vec()))
                    .collect(),
            ))
        }),
    ));
    t.push((
        "alltrue",
        fixed(1, |a| Ok(Value::Bool(list_arg(&a, 0)?.iter().all(is_true)))),
    ));
    t.push((
        "anytrue",
        fixed(1, |a| Ok(Value::Bool(list_arg(&a, 0)?.iter().any(is_true)))),
    ));
    t.push((
        "sum",
        fixed(1, |a| {
            let list = list_arg(&a, 0)?;
            if list.is_empty() {
                return Err("cannot sum an empty list".into());
            }
            let mut total = 0.0;
            for i in 0..list.len() {
                total += num_arg(&list, i)?;
            }
            num(total)
        }),
    ));
    t.push((
        "setunion",
        variadic(0, |a| {
            let mut all = Vec::new();
            for i in 0..a.len() {
                all.extend(list_arg(&a, i)?);
            }
            Ok(Value::Array(distinct(all)))
        }),
    ));
    t.push((
        "setintersection",
        variadic(1, |a| {
            let mut acc = distinct(list_arg(&a, 0)?);
            for i in 1..a.len() {
                let other = list_arg(&a, i)?;
                acc.retain(|v| other.contains(v));
            }
            Ok(Value::Array(acc))
        }),
    ));
    t.push((
        "setproduct",
        variadic(0, |a| {
            let mut acc: Vec<Vec<Value>> = vec![Vec::new()];
            for i in 0..a.len() {
                let list = list_arg(&a, i)?;
                acc = acc
                    .into_iter()
                    .flat_map(|prefix| {
                        list.iter().map(move |v| {
                            let mut p = prefix.clone();
                            p.push(v.clone());
                            p
                        })
                    })
                    .collect();
            }
            if a.is_empty() {
                return Ok(Value::Array(Vec::new()));
            }
            Ok(Value::Array(acc.into_iter().map(Value::Array).collect()))
        }),
    ));
}

fn is_true(v: &Value) -> bool {
    matches!(v, Value::Bool(true)) || matches!(v, Value::String(s) if s == "true")
}

fn sorted(map: hcl::Map<String, Value>) -> Vec<(String, Value)> {
    let mut v: Vec<_> = map.into_iter().collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn length(a: FuncArgs) -> Result<Value, String> {
    let n = match &a[0] {
        Value::String(s) => s.chars().count(),
        Value::Array(items) => items.len(),
        Value::Object(map) => map.len(),
        _ => {
            return Err(
                "argument must be a string, a collection type, or a structural type".into(),
            );
        }
    };
    Ok(Value::from(n as u64))
}

fn concat(a: FuncArgs) -> Result<Value, String> {
    let mut out = Vec::new();
    for i in 0..a.len() {
        out.extend(list_arg(&a, i)?);
    }
    Ok(Value::Array(out))
}

fn lookup(a: FuncArgs) -> Result<Value, String> {
    let map = map_arg(&a, 0)?;
    let key = str_arg(&a, 1)?;
    match map.get(&key) {
        Some(v) => Ok(v.clone()),
        None => a
            .get(2)
            .cloned()
            .ok_or_else(|| format!("lookup failed to find key {key:?}")),
    }
}

fn merge(a: FuncArgs) -> Result<Value, String> {
    let mut out = hcl::Map::new();
    for v in a.iter() {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    out.insert(k.clone(), v.clone());
                }
            }
            Value::Null => {}
            _ => return Err("arguments must be maps or objects".into()),
        }
    }
    Ok(Value::Object(out))
}

fn flatten(items: Vec<Value>, out: &mut Vec<Value>) {
    for item in items {
        match item {
            Value::Array(inner) => flatten(inner, out),
            other => out.push(other),
        }
    }
}

fn distinct(items: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

fn element(a: FuncArgs) -> Result<Value, String> {
    let list = list_arg(&a, 0)?;
    if list.is_empty() {
        return Err("cannot use element function with an empty list".into());
    }
    let i = int_arg(&a, 1)?;
    if i < 0 {
        return Err("cannot use element function with a negative index".into());
    }
    Ok(list[i as usize % list.len()].clone())
}

fn range(a: FuncArgs) -> Result<Value, String> {
    let (start, end, step) = match a.len() {
        1 => (0.0, num_arg(&a, 0)?, 1.0),
        2 => {
            let (s, e) = (num_arg(&a, 0)?, num_arg(&a, 1)?);
            (s, e, if e < s { -1.0 } else { 1.0 })
        }
        3 => (num_arg(&a, 0)?, num_arg(&a, 1)?, num_arg(&a, 2)?),
        _ => return Err("must have one, two, or three arguments".into()),
    };
    if step == 0.0 {
        return Err("step must not be zero".into());
    }
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0.0 && i < end) || (step < 0.0 && i > end) {
        out.push(num(i)?);
        i += step;
        if out.len() > 1024 {
            return Err("more than 1024 values were generated".into());
        }
    }
    Ok(Value::Array(out))
}

fn slice(a: FuncArgs) -> Result<Value, String> {
    let list = list_arg(&a, 0)?;
    let (start, end) = (int_arg(&a, 1)?, int_arg(&a, 2)?);
    if start < 0 || end > list.len() as i64 || start > end {
        return Err(format!(
            "invalid slice indices {start}..{end} for a list of {}",
            list.len()
        ));
    }
    Ok(Value::Array(list[start as usize..end as usize].to_vec()))
}
