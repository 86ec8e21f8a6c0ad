//! `packer hcl2_upgrade`: turns a legacy JSON template into an HCL2 file.
//!
//! The layout follows Packer's command (1.6.6 header, then newer Packer's
//! improvements): the header comment, a `packer { required_version }` block for
//! `min_packer_version`, one `variable` block per user variable (sorted by
//! name, `type = string`, `sensitive = true` for `sensitive-variables`),
//! `locals` for variables whose default uses template calls other than `env`
//! (HCL2 variable defaults cannot refer to anything), the `timestamp` local
//! when `{{timestamp}}` is used, one `source` block per builder (sorted by type
//! then name) and one `build` block with the sources, provisioners,
//! `error-cleanup-provisioner` and post-processors. Configuration keys are
//! sorted, as Packer sorts them. Finally the text is formatted with
//! [`crate::format_source`].
//!
//! Choices that differ from Packer 1.6.6, so that the result loads into the
//! same builds as the JSON template:
//!
//! - a builder's source is named after the builder (its type when unnamed,
//!   spaces and other characters that cannot appear in a source reference
//!   replaced by `_`), so builds are called `<type>.<name>`; `only`/`except`
//!   lists and `override` keys are translated to those names (`only =
//!   ["file.a"]`, `override = { a = { ... } }`);
//! - nested objects and lists of objects stay attributes (`tags = { ... }`,
//!   `disks = [{ ... }]`) instead of Packer's guessed nested blocks: this
//!   crate's loader has no plugin schemas and turns nested blocks into lists,
//!   so only attributes give back the JSON configuration unchanged. Empty
//!   lists are kept (Packer drops them);
//! - template calls are translated per action: ``{{user `x`}}`` → `${var.x}`
//!   (`${local.x}` when `x` became a local), ``{{env `X`}}`` → `env("X")` in
//!   variable defaults, `{{timestamp}}` → `${local.timestamp}`, `{{uuid}}` →
//!   `${uuidv4()}`, `{{isotime}}` → `${timestamp()}`, `{{isotime "<layout>"}}`
//!   → `${formatdate("<spec>", timestamp())}` (Go layout translated),
//!   `{{build_name}}` → `${source.name}`, `{{build_type}}` → `${source.type}`,
//!   `{{template_dir}}` → `${path.root}`, `{{pwd}}` → `${path.cwd}`,
//!   `{{packer_version}}` → `${packer.version}`, ``{{build `ID`}}`` →
//!   `${build.ID}`, `lower`/`upper`/`replace_all`/`split` (also piped) → the
//!   HCL2 functions. `{{ .Name }}` template variables are left as they are
//!   (the plugins render them). Anything else is kept as text, with a comment
//!   above the attribute.

use std::collections::{BTreeMap, BTreeSet};

use packer_template::{ConfigMap, ProvisionerDef, Template};
use serde_json::Value as Json;

/// Packer 1.6.6's header (typos included).
pub const HEADER: &str = "\
# This file was autogenerate by the BETA 'packer hcl2_upgrade' command. We
# recommend double checking that everything is correct before going forward. We
# also recommend treating this file as disposable. The HCL2 blocks in this
# file can be moved to other files. For example, the variable blocks could be
# moved to their own 'variables.pkr.hcl' file, etc. Those files need to be
# suffixed with '.pkr.hcl' to be visible to Packer. To use multiple files at
# once they also need to be in the same folder. 'packer inspect folder/'
# will describe to you what is in that folder.

# All generated input variables will be of string type as this how Packer JSON
# views them; you can later on change their type. Read the variables type
# constraints documentation
# https://www.packer.io/docs/from-1.5/variables#type-constraints for more info.
";

const SOURCES_HEADER: &str = "
# source blocks are generated from your builders; a source can be referenced in
# build blocks. A build block runs provisioner and post-processors on a
# source. Read the documentation for source blocks here:
# https://www.packer.io/docs/from-1.5/blocks/source
";

const BUILD_HEADER: &str = "
# a build block invokes sources and runs provisioning steps on them. The
# documentation for build blocks can be found here:
# https://www.packer.io/docs/from-1.5/blocks/build
";

/// Converts `template` (parsed from `raw_json`) into a formatted HCL2 file.
/// `raw_json` is scanned for ``{{user `x`}}`` references to variables the
/// template does not declare (they come from `-var-file`s): they are declared
/// as required variables. Fails only if the generated text does not parse
/// (a bug).
pub fn upgrade(template: &Template, raw_json: &str) -> Result<String, String> {
    let mut up = Upgrader::default();
    let mut out = String::from(HEADER);

    for (key, text) in &template.comments {
        out.push_str(&format!("\n# {key}: {}\n", one_line(text)));
    }

    if let Some(v) = &template.min_packer_version {
        out.push_str(&format!(
            "\npacker {{\n  required_version = {}\n}}\n",
            quote(&format!(">= {v}"))
        ));
    }

    // Variables: declared ones, then `user` references to undeclared ones.
    let mut vars: BTreeMap<String, Option<String>> = template
        .variables
        .iter()
        .map(|v| (v.name.clone(), v.default.clone()))
        .collect();
    for name in referenced_user_variables(raw_json) {
        vars.entry(name).or_insert(None);
    }
    // Defaults using template calls other than `env` become locals.
    for (name, default) in &vars {
        if let Some(d) = default
            && Upgrader::default().needs_local(d)
        {
            up.locals.insert(name.clone());
        }
    }
    let mut locals_out = String::new();
    for (name, default) in &vars {
        let sensitive = template.sensitive_variables.contains(name);
        up.notes.clear();
        if up.locals.contains(name) {
            let d = default.as_deref().unwrap_or_default();
            let value = up.string(d, Where::Component);
            let notes = up.take_notes("  ");
            if sensitive {
                out.push_str(&format!(
                    "\nlocal {} {{\n{notes}  expression = {value}\n  sensitive  = true\n}}\n",
                    quote(name)
                ));
            } else {
                locals_out.push_str(&format!("{notes}  {} = {value}\n", attr_key(name)));
            }
            continue;
        }
        out.push_str(&format!("\nvariable {} {{\n  type = string\n", quote(name)));
        if let Some(d) = default {
            let value = up.string(d, Where::Default);
            out.push_str(&up.take_notes("  "));
            out.push_str(&format!("  default = {value}\n"));
        }
        if sensitive {
            out.push_str("  sensitive = true\n");
        }
        out.push_str("}\n");
    }
    if !locals_out.is_empty() {
        out.push_str(&format!("\nlocals {{\n{locals_out}}}\n"));
    }

    // Sources, sorted like Packer (type + name).
    let mut builders: Vec<&packer_template::BuilderDef> = template.builders.iter().collect();
    builders.sort_by(|a, b| {
        format!("{}{}", a.builder_type, a.name).cmp(&format!("{}{}", b.builder_type, b.name))
    });
    for b in &builders {
        up.sources.insert(
            b.name.clone(),
            (b.builder_type.clone(), source_name(&b.name)),
        );
    }
    let mut sources_out = String::new();
    let mut refs = Vec::new();
    for b in &builders {
        let name = source_name(&b.name);
        refs.push(Json::String(format!("source.{}.{name}", b.builder_type)));
        sources_out.push_str(&format!(
            "\nsource {} {} {{\n",
            quote(&b.builder_type),
            quote(&name)
        ));
        up.body(&mut sources_out, &b.config, 1);
        sources_out.push_str("}\n");
    }

    let mut build_out = String::from("build {\n");
    if let Some(d) = &template.description {
        build_out.push_str(&format!("  description = {}\n\n", quote(d)));
    }
    build_out.push_str(&format!(
        "  sources = {}\n",
        up.value(&Json::Array(refs), 1)
    ));
    for p in &template.provisioners {
        build_out.push('\n');
        up.provisioner(&mut build_out, "provisioner", p);
    }
    if let Some(p) = &template.error_cleanup_provisioner {
        build_out.push('\n');
        up.provisioner(&mut build_out, "error-cleanup-provisioner", p);
    }
    for seq in &template.post_processors {
        let (indent, wrap) = match seq.len() {
            0 => continue,
            1 => (1, false),
            _ => (2, true),
        };
        build_out.push('\n');
        if wrap {
            build_out.push_str("  post-processors {\n");
        }
        for (i, pp) in seq.iter().enumerate() {
            if i > 0 {
                build_out.push('\n');
            }
            let pad = "  ".repeat(indent);
            build_out.push_str(&format!("{pad}post-processor {} {{\n", quote(&pp.pp_type)));
            let mut cfg = pp.config.clone();
            if let Some(k) = pp.keep_input_artifact {
                cfg.insert("keep_input_artifact".into(), Json::Bool(k));
            }
            if !pp.name.is_empty() && pp.name != pp.pp_type {
                cfg.insert("name".into(), Json::String(pp.name.clone()));
            }
            up.only_except(&mut cfg, &pp.only, &pp.except);
            up.body(&mut build_out, &cfg, indent + 1);
            build_out.push_str(&format!("{pad}}}\n"));
        }
        if wrap {
            build_out.push_str("  }\n");
        }
    }
    build_out.push_str("}\n");

    if up.timestamp {
        out.push_str("\n# \"timestamp\" template function replacement\n");
        out.push_str("locals { timestamp = regex_replace(timestamp(), \"[- TZ:]\", \"\") }\n");
    }
    out.push_str(SOURCES_HEADER);
    out.push_str(&sources_out);
    out.push_str(BUILD_HEADER);
    out.push_str(&build_out);

    crate::format_source(&out, "hcl2_upgrade.pkr.hcl")
        .map_err(|d| format!("hcl2_upgrade produced invalid HCL2 (this is a bug): {d}\n\n{out}"))
}

/// Where a string is used: variable defaults may call `env`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Where {
    Default,
    Component,
}

/// A piece of a translated string.
#[derive(Debug, Clone, PartialEq)]
enum Seg {
    /// Literal text.
    Lit(String),
    /// An HCL2 expression, written `${...}`.
    Expr(String),
}

#[derive(Default)]
struct Upgrader {
    /// Variables turned into locals.
    locals: BTreeSet<String>,
    /// Builder name → (type, source name).
    sources: BTreeMap<String, (String, String)>,
    /// `{{timestamp}}` was used.
    timestamp: bool,
    /// Template calls left untranslated in the value being written.
    notes: Vec<String>,
}

impl Upgrader {
    /// Whether a variable default uses template calls that HCL2 variable
    /// defaults cannot have (anything but `env` and `{{ .Name }}`).
    fn needs_local(&mut self, default: &str) -> bool {
        parse_template(default).iter().any(|piece| match piece {
            Piece::Text(_) => false,
            Piece::Action(a) => match self.action(a, Where::Default) {
                Translated::Expr(e) => !e.starts_with("env("),
                Translated::Keep | Translated::Untranslatable => false,
            },
        })
    }

    /// Comment lines for the notes gathered since the last call.
    fn take_notes(&mut self, pad: &str) -> String {
        let mut out = String::new();
        for n in std::mem::take(&mut self.notes) {
            out.push_str(&format!(
                "{pad}# TODO: could not upgrade the template call {n}; it is kept as text.\n"
            ));
        }
        out
    }

    fn provisioner(&mut self, out: &mut String, block: &str, p: &ProvisionerDef) {
        out.push_str(&format!("  {block} {} {{\n", quote(&p.provisioner_type)));
        let mut cfg = p.config.clone();
        self.only_except(&mut cfg, &p.only, &p.except);
        if let Some(d) = &p.pause_before {
            cfg.insert("pause_before".into(), Json::String(d.clone()));
        }
        if let Some(d) = &p.timeout {
            cfg.insert("timeout".into(), Json::String(d.clone()));
        }
        if let Some(r) = &p.max_retries {
            let v = match r.parse::<i64>() {
                Ok(n) => Json::from(n),
                Err(_) => Json::String(r.clone()),
            };
            cfg.insert("max_retries".into(), v);
        }
        if !p.overrides.is_empty() {
            let mut by_source = ConfigMap::new();
            for (builder, extra) in &p.overrides {
                let name = self
                    .sources
                    .get(builder)
                    .map(|(_, n)| n.clone())
                    .unwrap_or_else(|| builder.clone());
                by_source.insert(name, Json::Object(extra.clone()));
            }
            cfg.insert("override".into(), Json::Object(by_source));
        }
        self.body(out, &cfg, 2);
        out.push_str("  }\n");
    }

    /// Adds `only`/`except`, builder names translated to `type.name`.
    fn only_except(&self, cfg: &mut ConfigMap, only: &[String], except: &[String]) {
        let refs = |names: &[String]| {
            Json::Array(
                names
                    .iter()
                    .map(|n| match self.sources.get(n) {
                        Some((t, s)) => Json::String(format!("{t}.{s}")),
                        None => Json::String(n.clone()),
                    })
                    .collect(),
            )
        };
        if !only.is_empty() {
            cfg.insert("only".into(), refs(only));
        }
        if !except.is_empty() {
            cfg.insert("except".into(), refs(except));
        }
    }

    /// Writes the attributes of a body, keys sorted.
    fn body(&mut self, out: &mut String, cfg: &ConfigMap, indent: usize) {
        let pad = "  ".repeat(indent);
        let mut keys: Vec<&String> = cfg.keys().collect();
        keys.sort();
        for k in keys {
            self.notes.clear();
            if !is_ident(k) {
                out.push_str(&format!(
                    "{pad}# TODO: the key {} is not a valid HCL2 attribute name; it was dropped: {}\n",
                    quote(k),
                    one_line(&cfg[k.as_str()].to_string())
                ));
                continue;
            }
            let v = self.value(&cfg[k.as_str()], indent);
            out.push_str(&self.take_notes(&pad));
            out.push_str(&format!("{pad}{k} = {v}\n"));
        }
    }

    /// An HCL2 expression for a JSON value (strings are templates).
    fn value(&mut self, v: &Json, indent: usize) -> String {
        match v {
            Json::Null => "null".into(),
            Json::Bool(b) => b.to_string(),
            Json::Number(n) => n.to_string(),
            Json::String(s) => self.string(s, Where::Component),
            Json::Array(items) => {
                let complex = items
                    .iter()
                    .any(|i| matches!(i, Json::Object(o) if !o.is_empty()));
                if !complex {
                    let parts: Vec<String> = items.iter().map(|i| self.value(i, indent)).collect();
                    return format!("[{}]", parts.join(", "));
                }
                let pad = "  ".repeat(indent + 1);
                let mut out = String::from("[\n");
                for i in items {
                    out.push_str(&format!("{pad}{},\n", self.value(i, indent + 1)));
                }
                out.push_str(&"  ".repeat(indent));
                out.push(']');
                out
            }
            Json::Object(map) => {
                if map.is_empty() {
                    return "{}".into();
                }
                let pad = "  ".repeat(indent + 1);
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                let mut out = String::from("{\n");
                for k in keys {
                    let key = if is_ident(k) { k.clone() } else { quote(k) };
                    out.push_str(&format!(
                        "{pad}{key} = {}\n",
                        self.value(&map[k.as_str()], indent + 1)
                    ));
                }
                out.push_str(&"  ".repeat(indent));
                out.push('}');
                out
            }
        }
    }

    /// A JSON template string as an HCL2 string expression.
    fn string(&mut self, s: &str, at: Where) -> String {
        let mut segs: Vec<Seg> = Vec::new();
        let push_lit = |segs: &mut Vec<Seg>, t: &str| match segs.last_mut() {
            Some(Seg::Lit(l)) => l.push_str(t),
            _ => segs.push(Seg::Lit(t.to_string())),
        };
        for piece in parse_template(s) {
            match piece {
                Piece::Text(t) => push_lit(&mut segs, &t),
                Piece::Action(a) => match self.action(&a, at) {
                    Translated::Expr(e) => segs.push(Seg::Expr(e)),
                    Translated::Keep => push_lit(&mut segs, &a.text),
                    Translated::Untranslatable => {
                        self.notes.push(a.text.clone());
                        push_lit(&mut segs, &a.text)
                    }
                },
            }
        }
        if at == Where::Default
            && let [Seg::Expr(e)] = segs.as_slice()
            && e.starts_with("env(")
        {
            return e.clone();
        }
        hcl_template(&segs)
    }

    /// Translates one `{{ ... }}` action.
    fn action(&mut self, a: &Action, at: Where) -> Translated {
        let Some(pipeline) = &a.pipeline else {
            return Translated::Untranslatable;
        };
        // `{{ .Name }}`: rendered by the plugin.
        if let [cmd] = pipeline.as_slice()
            && let [Word::Field(_)] = cmd.as_slice()
        {
            return Translated::Keep;
        }
        let mut piped: Option<String> = None;
        for cmd in pipeline {
            match self.command(cmd, piped.take(), at) {
                Some(e) => piped = Some(e),
                None => return Translated::Untranslatable,
            }
        }
        piped.map_or(Translated::Untranslatable, Translated::Expr)
    }

    /// One command of a pipeline, with the previous command's result as last argument.
    fn command(&mut self, cmd: &[Word], piped: Option<String>, at: Where) -> Option<String> {
        let (Word::Ident(f), rest) = cmd.split_first()? else {
            return None;
        };
        let mut args: Vec<String> = Vec::new();
        let mut strs: Vec<Option<String>> = Vec::new();
        for w in rest {
            match w {
                Word::Str(s) => {
                    args.push(quote(s));
                    strs.push(Some(s.clone()));
                }
                Word::Number(n) => {
                    args.push(n.clone());
                    strs.push(None);
                }
                _ => return None,
            }
        }
        if let Some(p) = piped {
            args.push(p);
            strs.push(None);
        }
        let lit = |i: usize| strs.get(i).cloned().flatten();
        let n_args = args.len();
        Some(match (f.as_str(), n_args) {
            ("user", 1) => {
                let name = lit(0)?;
                if !is_ident(&name) {
                    return None;
                }
                if self.locals.contains(&name) {
                    format!("local.{name}")
                } else {
                    format!("var.{name}")
                }
            }
            ("env", 1) if at == Where::Default => format!("env({})", args[0]),
            ("timestamp", 0) => {
                self.timestamp = true;
                "local.timestamp".into()
            }
            ("uuid", 0) => "uuidv4()".into(),
            ("isotime", 0) => "timestamp()".into(),
            ("isotime", 1) => {
                let spec = go_layout_to_formatdate(&lit(0)?)?;
                format!("formatdate({}, timestamp())", quote(&spec))
            }
            ("build_name", 0) => "source.name".into(),
            ("build_type", 0) => "source.type".into(),
            ("template_dir", 0) => "path.root".into(),
            ("pwd", 0) => "path.cwd".into(),
            ("packer_version", 0) => "packer.version".into(),
            ("build", 1) => {
                let key = lit(0)?;
                if !is_ident(&key) {
                    return None;
                }
                format!("build.{key}")
            }
            ("lower" | "upper", 1) => format!("{f}({})", args[0]),
            ("replace_all", 3) => {
                let old = lit(0)?;
                if old.len() > 1 && old.starts_with('/') && old.ends_with('/') {
                    return None;
                }
                format!("replace({}, {}, {})", args[2], args[0], args[1])
            }
            ("replace", 4) if args[2] == "-1" => {
                let old = lit(0)?;
                if old.len() > 1 && old.starts_with('/') && old.ends_with('/') {
                    return None;
                }
                format!("replace({}, {}, {})", args[3], args[0], args[1])
            }
            ("split", 3) => {
                let n: usize = args[2].parse().ok()?;
                format!("split({}, {})[{n}]", args[1], args[0])
            }
            _ => return None,
        })
    }
}

enum Translated {
    /// An HCL2 expression.
    Expr(String),
    /// Kept as text on purpose (`{{ .Name }}`).
    Keep,
    /// Kept as text, with a note.
    Untranslatable,
}

/// A piece of a Go template.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Action(Action),
}

/// One `{{ ... }}` action.
#[derive(Debug, Clone, PartialEq)]
struct Action {
    /// Its text, braces included.
    text: String,
    /// Commands separated by `|`; `None` if it could not be understood.
    pipeline: Option<Vec<Vec<Word>>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Word {
    Ident(String),
    Field(String),
    Str(String),
    Number(String),
}

/// Splits a Go template into text and actions (an unterminated `{{` is text).
fn parse_template(s: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let Some(len) = action_len(&rest[start..]) else {
            break;
        };
        if start > 0 {
            out.push(Piece::Text(rest[..start].to_string()));
        }
        let text = &rest[start..start + len];
        out.push(Piece::Action(Action {
            text: text.to_string(),
            pipeline: parse_pipeline(&text[2..len - 2]),
        }));
        rest = &rest[start + len..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest.to_string()));
    }
    out
}

/// Length of the action starting at `s` (which starts with `{{`), quotes respected.
fn action_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 2;
    while i < b.len() {
        match b[i] {
            b'`' => i += 1 + s[i + 1..].find('`')? + 1,
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'}' if b.get(i + 1) == Some(&b'}') => return Some(i + 2),
            _ => i += 1,
        }
    }
    None
}

/// `user "x" | lower` → `[[user, "x"], [lower]]`; `None` for anything fancier
/// (trim markers, parentheses, variables, comments).
fn parse_pipeline(inner: &str) -> Option<Vec<Vec<Word>>> {
    if inner.starts_with('-') || inner.ends_with('-') || inner.trim_start().starts_with("/*") {
        return None;
    }
    let mut cmds = vec![Vec::new()];
    let chars: Vec<char> = inner.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '|' {
            cmds.push(Vec::new());
            i += 1;
        } else if c == '`' {
            let end = chars[i + 1..].iter().position(|&c| c == '`')? + i + 1;
            cmds.last_mut()?
                .push(Word::Str(chars[i + 1..end].iter().collect()));
            i = end + 1;
        } else if c == '"' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '"' {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            let lit: String = chars[i..=j.min(chars.len() - 1)].iter().collect();
            let s: String = serde_json::from_str(&lit).ok()?;
            cmds.last_mut()?.push(Word::Str(s));
            i = j + 1;
        } else if c == '.' || c.is_alphabetic() || c == '_' {
            let mut j = i + 1;
            while j < chars.len()
                && (chars[j].is_alphanumeric() || chars[j] == '_' || chars[j] == '.')
            {
                j += 1;
            }
            let word: String = chars[i..j].iter().collect();
            cmds.last_mut()?
                .push(if let Some(f) = word.strip_prefix('.') {
                    Word::Field(f.to_string())
                } else if word.contains('.') {
                    return None;
                } else {
                    Word::Ident(word)
                });
            i = j;
        } else if c.is_ascii_digit() || c == '-' {
            let mut j = i + 1;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            cmds.last_mut()?
                .push(Word::Number(chars[i..j].iter().collect()));
            i = j;
        } else {
            return None;
        }
    }
    if cmds.iter().any(Vec::is_empty) {
        return None;
    }
    Some(cmds)
}

/// ``{{user `x`}}`` references in the raw JSON text.
fn referenced_user_variables(raw: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Ok(json) = serde_json::from_str::<Json>(raw) else {
        return out;
    };
    let mut stack = vec![&json];
    while let Some(v) = stack.pop() {
        match v {
            Json::String(s) => {
                for p in parse_template(s) {
                    if let Piece::Action(Action {
                        pipeline: Some(cmds),
                        ..
                    }) = p
                    {
                        for cmd in cmds {
                            if let [Word::Ident(f), Word::Str(name)] = cmd.as_slice()
                                && f == "user"
                                && is_ident(name)
                            {
                                out.insert(name.clone());
                            }
                        }
                    }
                }
            }
            Json::Array(items) => stack.extend(items),
            Json::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    out
}

/// Go's reference-time layout → HCL2 `formatdate` spec; `None` when some part
/// has no equivalent (fractional seconds, day of year, ...).
fn go_layout_to_formatdate(layout: &str) -> Option<String> {
    const TOKENS: &[(&str, &str)] = &[
        ("January", "MMMM"),
        ("Monday", "EEEE"),
        ("Z07:00", "Z"),
        ("-07:00", "ZZZZZ"),
        ("-0700", "ZZZZ"),
        ("2006", "YYYY"),
        ("Jan", "MMM"),
        ("Mon", "EEE"),
        ("MST", "ZZZ"),
        ("01", "MM"),
        ("02", "DD"),
        ("03", "HH"),
        ("04", "mm"),
        ("05", "ss"),
        ("06", "YY"),
        ("15", "hh"),
        ("PM", "AA"),
        ("pm", "aa"),
        ("1", "M"),
        ("2", "D"),
        ("3", "H"),
        ("4", "m"),
        ("5", "s"),
    ];
    let mut out = String::new();
    let mut literal = String::new();
    let flush = |out: &mut String, literal: &mut String| {
        if literal.is_empty() {
            return;
        }
        if literal
            .chars()
            .all(|c| !c.is_ascii_alphabetic() && c != '\'')
        {
            out.push_str(literal);
        } else {
            out.push('\'');
            out.push_str(&literal.replace('\'', "''"));
            out.push('\'');
        }
        literal.clear();
    };
    let mut rest = layout;
    'outer: while !rest.is_empty() {
        if rest.starts_with("_2")
            || rest.starts_with(".0")
            || rest.starts_with(".9")
            || rest.starts_with("002")
        {
            return None;
        }
        for (go, spec) in TOKENS {
            if let Some(r) = rest.strip_prefix(go) {
                flush(&mut out, &mut literal);
                out.push_str(spec);
                rest = r;
                continue 'outer;
            }
        }
        let c = rest.chars().next()?;
        if c.is_ascii_digit() {
            return None;
        }
        literal.push(c);
        rest = &rest[c.len_utf8()..];
    }
    flush(&mut out, &mut literal);
    Some(out)
}

/// An HCL2 quoted template from segments; literal `${`/`%{` escaped.
fn hcl_template(segs: &[Seg]) -> String {
    let mut out = String::from("\"");
    for (i, seg) in segs.iter().enumerate() {
        match seg {
            Seg::Lit(text) => {
                let mut escaped = escape_literal(text);
                // A `$`/`%` right before `${` would read as the `$${` escape.
                if matches!(segs.get(i + 1), Some(Seg::Expr(_))) {
                    let keep = escaped.trim_end_matches(['$', '%']).len();
                    if keep < escaped.len() {
                        let run = escaped.split_off(keep);
                        escaped.push_str(&format!("${{\"{run}\"}}"));
                    }
                }
                out.push_str(&escaped);
            }
            Seg::Expr(e) => {
                out.push_str("${");
                out.push_str(e);
                out.push('}');
            }
        }
    }
    out.push('"');
    out
}

fn escape_literal(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// A quoted HCL2 string literal.
fn quote(s: &str) -> String {
    format!("\"{}\"", escape_literal(s))
}

/// An HCL2 identifier (letters, digits, `_`, `-`; not starting with a digit or `-`).
fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

fn attr_key(name: &str) -> String {
    if is_ident(name) {
        name.to_string()
    } else {
        quote(name)
    }
}

/// A builder name usable in `source.<type>.<name>` references.
fn source_name(name: &str) -> String {
    let cleaned: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "_".into()
    } else {
        cleaned
    }
}

fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipelines() {
        let p = parse_template("a{{user `x` | lower}}b{{ .Path }}");
        assert_eq!(p.len(), 4);
        let mut up = Upgrader::default();
        assert_eq!(
            up.string("a{{user `x` | lower}}b{{ .Path }}", Where::Component),
            "\"a${lower(var.x)}b{{ .Path }}\""
        );
        assert_eq!(up.string("{{env `HOME`}}", Where::Default), "env(\"HOME\")");
        assert_eq!(
            up.string("$HOME ${x} {{split \"a-b\" \"-\" 1}}", Where::Component),
            "\"$HOME $${x} ${split(\"-\", \"a-b\")[1]}\""
        );
        assert_eq!(
            up.string("$${{uuid}}", Where::Component),
            "\"${\"$$\"}${uuidv4()}\""
        );
        assert!(up.notes.is_empty());
        assert_eq!(
            up.string("{{clean_resource_name `a`}}", Where::Component),
            "\"{{clean_resource_name `a`}}\""
        );
        assert_eq!(up.notes.len(), 1);
    }

    #[test]
    fn layouts() {
        assert_eq!(
            go_layout_to_formatdate("2006-01-02T15:04:05Z07:00").as_deref(),
            Some("YYYY-MM-DD'T'hh:mm:ssZ")
        );
        assert_eq!(
            go_layout_to_formatdate("20060102").as_deref(),
            Some("YYYYMMDD")
        );
        assert_eq!(go_layout_to_formatdate("15:04:05.000"), None);
    }
}
