//! Encoding functions.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hcl::Value;

use super::{Table, fixed, str_arg};
use crate::eval::{from_json, to_json};

pub(super) fn register(t: &mut Table) {
    t.push((
        "base64encode",
        fixed(1, |a| Ok(Value::String(STANDARD.encode(str_arg(&a, 0)?)))),
    ));
    t.push((
        "base64decode",
        fixed(1, |a| {
            let bytes = STANDARD
                .decode(str_arg(&a, 0)?)
                .map_err(|e| format!("failed to decode base64 data: {e}"))?;
            String::from_utf8(bytes).map(Value::String).map_err(|_| {
                "the result of decoding the provided string is not valid UTF-8".to_string()
            })
        }),
    ));
    t.push((
        "jsonencode",
        fixed(1, |a| Ok(Value::String(to_json(&a[0]).to_string()))),
    ));
    t.push((
        "jsondecode",
        fixed(1, |a| {
            let v: serde_json::Value =
                serde_json::from_str(&str_arg(&a, 0)?).map_err(|e| format!("invalid JSON: {e}"))?;
            Ok(from_json(&v))
        }),
    ));
    t.push((
        "urlencode",
        fixed(1, |a| {
            let s = str_arg(&a, 0)?;
            let mut out = String::new();
            for b in s.bytes() {
                match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        out.push(b as char)
                    }
                    b' ' => out.push('+'),
                    other => out.push_str(&format!("%{other:02X}")),
                }
            }
            Ok(Value::String(out))
        }),
    ));
    t.push(("csvdecode", fixed(1, csvdecode)));
}

fn csv_records(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            ',' => record.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                any = false;
            }
            c => field.push(c),
        }
    }
    if quoted {
        return Err("extraneous or missing \" in quoted-field".into());
    }
    if any {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

fn csvdecode(a: hcl::eval::FuncArgs) -> Result<Value, String> {
    let records = csv_records(&str_arg(&a, 0)?)?;
    let Some((header, rows)) = records.split_first() else {
        return Err("missing header line".into());
    };
    let mut out = Vec::new();
    for (n, row) in rows.iter().enumerate() {
        if row.len() != header.len() {
            return Err(format!("record on line {}: wrong number of fields", n + 2));
        }
        let mut map = hcl::Map::new();
        for (k, v) in header.iter().zip(row) {
            map.insert(k.clone(), Value::String(v.clone()));
        }
        out.push(Value::Object(map));
    }
    Ok(Value::Array(out))
}
