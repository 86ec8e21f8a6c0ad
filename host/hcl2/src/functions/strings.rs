//! String functions.

use hcl::Value;
use hcl::eval::FuncArgs;
use regex::Regex;

use super::{Table, fixed, int_arg, list_arg, str_arg, to_str, variadic};

pub(super) fn register(t: &mut Table) {
    t.push((
        "upper",
        fixed(1, |a| Ok(Value::String(str_arg(&a, 0)?.to_uppercase()))),
    ));
    t.push((
        "lower",
        fixed(1, |a| Ok(Value::String(str_arg(&a, 0)?.to_lowercase()))),
    ));
    t.push(("title", fixed(1, title)));
    t.push((
        "trimspace",
        fixed(1, |a| Ok(Value::String(str_arg(&a, 0)?.trim().to_string()))),
    ));
    t.push(("trim", fixed(2, trim)));
    t.push((
        "trimprefix",
        fixed(2, |a| {
            let (s, p) = (str_arg(&a, 0)?, str_arg(&a, 1)?);
            Ok(Value::String(
                s.strip_prefix(p.as_str()).unwrap_or(&s).to_string(),
            ))
        }),
    ));
    t.push((
        "trimsuffix",
        fixed(2, |a| {
            let (s, p) = (str_arg(&a, 0)?, str_arg(&a, 1)?);
            Ok(Value::String(
                s.strip_suffix(p.as_str()).unwrap_or(&s).to_string(),
            ))
        }),
    ));
    t.push((
        "chomp",
        fixed(1, |a| {
            let s = str_arg(&a, 0)?;
            Ok(Value::String(s.trim_end_matches(['\n', '\r']).to_string()))
        }),
    ));
    t.push((
        "startswith",
        fixed(2, |a| {
            Ok(Value::Bool(str_arg(&a, 0)?.starts_with(&str_arg(&a, 1)?)))
        }),
    ));
    t.push((
        "endswith",
        fixed(2, |a| {
            Ok(Value::Bool(str_arg(&a, 0)?.ends_with(&str_arg(&a, 1)?)))
        }),
    ));
    t.push((
        "strcontains",
        fixed(2, |a| {
            Ok(Value::Bool(str_arg(&a, 0)?.contains(&str_arg(&a, 1)?)))
        }),
    ));
    t.push((
        "strrev",
        fixed(1, |a| {
            Ok(Value::String(str_arg(&a, 0)?.chars().rev().collect()))
        }),
    ));
    t.push(("replace", fixed(3, replace)));
    t.push(("regex_replace", fixed(3, regex_replace)));
    t.push(("regex", fixed(2, regex_fn)));
    t.push(("regexall", fixed(2, regexall)));
    t.push((
        "split",
        fixed(2, |a| {
            let (sep, s) = (str_arg(&a, 0)?, str_arg(&a, 1)?);
            Ok(Value::Array(
                s.split(sep.as_str())
                    .map(|p| Value::String(p.to_string()))
                    .collect(),
            ))
        }),
    ));
    t.push(("join", variadic(1, join)));
    t.push((
        "format",
        variadic(1, |a| Ok(Value::String(format(&str_arg(&a, 0)?, &a[1..])?))),
    ));
    t.push(("formatlist", variadic(1, formatlist)));
    t.push(("substr", fixed(3, substr)));
    t.push((
        "indent",
        fixed(2, |a| {
            let n = int_arg(&a, 0)?.max(0) as usize;
            let s = str_arg(&a, 1)?;
            let pad = " ".repeat(n);
            Ok(Value::String(s.replace('\n', &format!("\n{pad}"))))
        }),
    ));
}

fn title(a: FuncArgs) -> Result<Value, String> {
    let s = str_arg(&a, 0)?;
    let mut out = String::new();
    let mut start = true;
    for c in s.chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric() && c != '\'';
    }
    Ok(Value::String(out))
}

fn trim(a: FuncArgs) -> Result<Value, String> {
    let (s, cut) = (str_arg(&a, 0)?, str_arg(&a, 1)?);
    Ok(Value::String(
        s.trim_matches(|c| cut.contains(c)).to_string(),
    ))
}

fn replace(a: FuncArgs) -> Result<Value, String> {
    let (s, sub, with) = (str_arg(&a, 0)?, str_arg(&a, 1)?, str_arg(&a, 2)?);
    if sub.len() > 1 && sub.starts_with('/') && sub.ends_with('/') {
        let re = compile(&sub[1..sub.len() - 1])?;
        return Ok(Value::String(
            re.replace_all(&s, with.as_str()).into_owned(),
        ));
    }
    Ok(Value::String(s.replace(&sub, &with)))
}

fn regex_replace(a: FuncArgs) -> Result<Value, String> {
    let (s, pattern, with) = (str_arg(&a, 0)?, str_arg(&a, 1)?, str_arg(&a, 2)?);
    let re = compile(&pattern)?;
    Ok(Value::String(
        re.replace_all(&s, with.as_str()).into_owned(),
    ))
}

fn compile(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| format!("invalid regular expression pattern: {e}"))
}

fn captures_value(re: &Regex, caps: &regex::Captures) -> Value {
    let names: Vec<Option<&str>> = re.capture_names().collect();
    let get = |i: usize| {
        caps.get(i)
            .map(|m| Value::String(m.as_str().to_string()))
            .unwrap_or(Value::Null)
    };
    if names.iter().skip(1).any(Option::is_some) {
        let mut map = hcl::Map::new();
        for (i, n) in names.iter().enumerate().skip(1) {
            if let Some(n) = n {
                map.insert((*n).to_string(), get(i));
            }
        }
        Value::Object(map)
    } else if re.captures_len() > 1 {
        Value::Array((1..re.captures_len()).map(get).collect())
    } else {
        get(0)
    }
}

fn regex_fn(a: FuncArgs) -> Result<Value, String> {
    let (pattern, s) = (str_arg(&a, 0)?, str_arg(&a, 1)?);
    let re = compile(&pattern)?;
    let caps = re
        .captures(&s)
        .ok_or_else(|| "pattern did not match any part of the given string".to_string())?;
    Ok(captures_value(&re, &caps))
}

fn regexall(a: FuncArgs) -> Result<Value, String> {
    let (pattern, s) = (str_arg(&a, 0)?, str_arg(&a, 1)?);
    let re = compile(&pattern)?;
    Ok(Value::Array(
        re.captures_iter(&s)
            .map(|c| captures_value(&re, &c))
            .collect(),
    ))
}

fn join(a: FuncArgs) -> Result<Value, String> {
    let sep = str_arg(&a, 0)?;
    let mut parts = Vec::new();
    for i in 1..a.len() {
        for item in list_arg(&a, i)? {
            parts.push(to_str(&item).ok_or("join: elements must be strings")?);
        }
    }
    if a.len() < 2 {
        return Err("at least one list is required".into());
    }
    Ok(Value::String(parts.join(&sep)))
}

fn substr(a: FuncArgs) -> Result<Value, String> {
    let s: Vec<char> = str_arg(&a, 0)?.chars().collect();
    let len = s.len() as i64;
    let mut offset = int_arg(&a, 1)?;
    let length = int_arg(&a, 2)?;
    if offset < 0 {
        offset += len;
    }
    let offset = offset.clamp(0, len);
    let end = if length < 0 {
        len
    } else {
        (offset + length).min(len)
    };
    Ok(Value::String(
        s[offset as usize..end.max(offset) as usize]
            .iter()
            .collect(),
    ))
}

fn formatlist(a: FuncArgs) -> Result<Value, String> {
    let spec = str_arg(&a, 0)?;
    let rest = &a[1..];
    let mut n: Option<usize> = None;
    for v in rest {
        if let Value::Array(items) = v {
            match n {
                Some(m) if m != items.len() => {
                    return Err("all lists must have the same length".into());
                }
                _ => n = Some(items.len()),
            }
        }
    }
    let n = n.unwrap_or(1);
    let mut out = Vec::new();
    for i in 0..n {
        let row: Vec<Value> = rest
            .iter()
            .map(|v| match v {
                Value::Array(items) => items[i].clone(),
                other => other.clone(),
            })
            .collect();
        out.push(Value::String(format(&spec, &row)?));
    }
    Ok(Value::Array(out))
}

/// Go/cty `format`: `%s %d %f %v %q %t %x %X %o %b %e %%`, flags `-+ 0#`, width, precision.
pub(crate) fn format(spec: &str, args: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = spec.chars().peekable();
    let mut next = 0usize;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = String::new();
        while let Some(&f) = chars.peek() {
            if "-+ 0#".contains(f) {
                flags.push(f);
                chars.next();
            } else {
                break;
            }
        }
        let mut width = String::new();
        while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            width.push(d);
            chars.next();
        }
        let mut precision: Option<usize> = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                p.push(d);
                chars.next();
            }
            precision = Some(p.parse().unwrap_or(0));
        }
        let verb = chars.next().ok_or("unterminated format verb")?;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let arg = args
            .get(next)
            .ok_or_else(|| format!("not enough arguments for %{verb} at {}", out.len()))?;
        next += 1;
        let text = match verb {
            's' => to_str(arg).ok_or("%s requires a string")?,
            'v' => match arg {
                Value::String(s) => s.clone(),
                other => to_str(other).unwrap_or_else(|| crate::eval::to_json(other).to_string()),
            },
            'q' => {
                serde_json::Value::String(to_str(arg).ok_or("%q requires a string")?).to_string()
            }
            't' => match arg {
                Value::Bool(b) => b.to_string(),
                _ => return Err("%t requires a bool".into()),
            },
            'd' | 'x' | 'X' | 'o' | 'b' => {
                let f = number(arg)?;
                if f.fract() != 0.0 {
                    return Err(format!("%{verb} requires a whole number"));
                }
                let i = f as i64;
                let body = match verb {
                    'd' => i.abs().to_string(),
                    'x' => format!("{:x}", i.abs()),
                    'X' => format!("{:X}", i.abs()),
                    'o' => format!("{:o}", i.abs()),
                    _ => format!("{:b}", i.abs()),
                };
                let sign = if i < 0 {
                    "-"
                } else if flags.contains('+') {
                    "+"
                } else {
                    ""
                };
                format!("{sign}{body}")
            }
            'f' | 'e' | 'g' => {
                let f = number(arg)?;
                let p = precision.unwrap_or(6);
                let s = match verb {
                    'f' => format!("{f:.p$}"),
                    'e' => format!("{f:.p$e}"),
                    _ => format!("{f}"),
                };
                if flags.contains('+') && f >= 0.0 {
                    format!("+{s}")
                } else {
                    s
                }
            }
            other => return Err(format!("unsupported format verb %{other}")),
        };
        let text = match (verb, precision) {
            ('s' | 'v', Some(p)) => text.chars().take(p).collect(),
            _ => text,
        };
        let w: usize = width.parse().unwrap_or(0);
        let len = text.chars().count();
        if len < w {
            let pad = w - len;
            if flags.contains('-') {
                out.push_str(&text);
                out.push_str(&" ".repeat(pad));
            } else if flags.contains('0') && "dfxXob".contains(verb) {
                let (sign, digits) = match text.strip_prefix(['-', '+']) {
                    Some(d) => (&text[..1], d),
                    None => ("", text.as_str()),
                };
                out.push_str(sign);
                out.push_str(&"0".repeat(pad));
                out.push_str(digits);
            } else {
                out.push_str(&" ".repeat(pad));
                out.push_str(&text);
            }
        } else {
            out.push_str(&text);
        }
    }
    if next < args.len() {
        return Err(format!(
            "too many arguments; only {next} used by format string"
        ));
    }
    Ok(out)
}

fn number(v: &Value) -> Result<f64, String> {
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(|| "invalid number".to_string()),
        Value::String(s) => s.parse().map_err(|_| "a number is required".to_string()),
        _ => Err("a number is required".into()),
    }
}
