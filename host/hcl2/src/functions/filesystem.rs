//! Filesystem functions; relative paths are resolved against the configuration's directory.

use std::path::{Path, PathBuf};

use base64::Engine;
use hcl::Value;
use hcl::eval::{Context, Evaluate, FuncArgs};

use super::{Table, fixed, map_arg, str_arg, with_env};

pub(super) fn register(t: &mut Table) {
    t.push(("file", fixed(1, |a| {
        let bytes = read(&str_arg(&a, 0)?)?;
        String::from_utf8(bytes)
            .map(Value::String)
            .map_err(|_| "contents are not valid UTF-8; use the filebase64 function to obtain the Base64 encoded contents".to_string())
    })));
    t.push((
        "filebase64",
        fixed(1, |a| {
            Ok(Value::String(
                base64::engine::general_purpose::STANDARD.encode(read(&str_arg(&a, 0)?)?),
            ))
        }),
    ));
    t.push((
        "fileexists",
        fixed(1, |a| {
            let path = resolve(&str_arg(&a, 0)?)?;
            match std::fs::metadata(&path) {
                Ok(m) if m.is_file() => Ok(Value::Bool(true)),
                Ok(_) => Err(format!(
                    "{} is not a regular file, but {:?}",
                    path.display(),
                    "directory"
                )),
                Err(_) => Ok(Value::Bool(false)),
            }
        }),
    ));
    t.push(("fileset", fixed(2, fileset)));
    t.push((
        "basename",
        fixed(1, |a| {
            let s = str_arg(&a, 0)?;
            let trimmed = s.trim_end_matches('/');
            if trimmed.is_empty() {
                return Ok(Value::String(if s.is_empty() {
                    ".".into()
                } else {
                    "/".into()
                }));
            }
            Ok(Value::String(
                trimmed.rsplit('/').next().unwrap_or(trimmed).to_string(),
            ))
        }),
    ));
    t.push((
        "dirname",
        fixed(1, |a| {
            let s = str_arg(&a, 0)?;
            let dir = match s.rfind('/') {
                Some(0) => "/".to_string(),
                Some(i) => s[..i].trim_end_matches('/').to_string(),
                None => ".".to_string(),
            };
            Ok(Value::String(if dir.is_empty() { "/".into() } else { dir }))
        }),
    ));
    t.push((
        "abspath",
        fixed(1, |a| {
            let s = str_arg(&a, 0)?;
            let p = Path::new(&s);
            let full = if p.is_absolute() {
                p.to_path_buf()
            } else {
                with_env(|e| e.cwd.join(p))?
            };
            Ok(Value::String(clean(&full)))
        }),
    ));
    t.push((
        "pathexpand",
        fixed(1, |a| {
            let s = str_arg(&a, 0)?;
            if s == "~" || s.starts_with("~/") {
                let home = with_env(|e| e.env.get("HOME").cloned().unwrap_or_default())?;
                return Ok(Value::String(format!("{home}{}", &s[1..])));
            }
            Ok(Value::String(s))
        }),
    ));
    t.push(("templatefile", fixed(2, templatefile)));
}

/// `path` against the configuration's directory.
fn resolve(path: &str) -> Result<PathBuf, String> {
    let p = Path::new(path);
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    with_env(|e| e.base_dir.join(p))
}

fn read(path: &str) -> Result<Vec<u8>, String> {
    let full = resolve(path)?;
    std::fs::read(&full).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("no file exists at {path}"),
        _ => format!("failed to read {path}: {e}"),
    })
}

/// Lexically cleaned path (`a/./b/../c` → `a/c`).
fn clean(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                parts.pop();
            }
            std::path::Component::CurDir => {}
            std::path::Component::RootDir => parts.clear(),
            other => parts.push(other.as_os_str().to_string_lossy().into_owned()),
        }
    }
    format!("/{}", parts.join("/"))
}

fn fileset(a: FuncArgs) -> Result<Value, String> {
    let dir = str_arg(&a, 0)?;
    let pattern = str_arg(&a, 1)?;
    let base = resolve(&dir)?;
    let full = base.join(&pattern);
    let entries = glob::glob(&full.to_string_lossy())
        .map_err(|e| format!("failed to glob pattern ({pattern}): {e}"))?;
    let mut out = Vec::new();
    for entry in entries.flatten() {
        if entry.is_file()
            && let Ok(rel) = entry.strip_prefix(&base)
        {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    out.sort();
    Ok(Value::Array(out.into_iter().map(Value::String).collect()))
}

fn templatefile(a: FuncArgs) -> Result<Value, String> {
    let path = str_arg(&a, 0)?;
    let bytes = read(&path)?;
    let text = String::from_utf8(bytes).map_err(|_| "contents are not valid UTF-8".to_string())?;
    let vars = map_arg(&a, 1)?;
    let parsed = hcl::edit::parser::parse_template(&text)
        .map_err(|e| format!("failed to parse {path}: {e}"))?;
    let template: hcl::Template = parsed.into();
    let mut ctx = Context::new();
    for (k, v) in vars {
        ctx.declare_var(k, v);
    }
    for (name, def) in super::table() {
        if *name != "env" && *name != "templatefile" {
            ctx.declare_func(*name, def.clone());
        }
    }
    template
        .evaluate(&ctx)
        .map(Value::String)
        .map_err(|e| format!("failed to render {path}: {e}"))
}
