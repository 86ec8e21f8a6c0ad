//! `locals`, `local` and `data` blocks, evaluated in dependency order.

use std::collections::{BTreeMap, BTreeSet};

use hcl::Value;
use hcl::edit::Span;
use hcl::edit::expr::Expression;
use hcl::edit::structure::{Block, Body, Structure};

use crate::diagnostics::{Diagnostics, Pos};
use crate::eval::{Evaluator, Scope, references};
use crate::variables::{unsupported_argument, unsupported_block};

/// A local value's definition.
#[derive(Debug, Clone)]
pub(crate) struct LocalDef {
    pub file: usize,
    pub pos: Pos,
    pub expr: Expression,
    pub sensitive: bool,
}

/// A data source's definition.
#[derive(Debug, Clone)]
pub(crate) struct DataDef {
    pub file: usize,
    pub pos: Pos,
    pub body: Body,
}

fn pos_of(file: usize, span: Option<std::ops::Range<usize>>) -> Pos {
    Pos {
        file,
        offset: span.map(|s| s.start).unwrap_or(0),
    }
}

fn duplicate(ev: &Evaluator, pos: Pos, name: &str) -> crate::diagnostics::Diagnostic {
    ev.map.error(
        pos,
        "Duplicate value in locals",
        format!("Duplicate {name} definition found."),
    )
}

/// Adds the attributes of a `locals` block.
pub(crate) fn add_locals(
    ev: &Evaluator,
    file: usize,
    body: &Body,
    out: &mut BTreeMap<String, LocalDef>,
    diags: &mut Diagnostics,
) {
    for s in body.iter() {
        match s {
            Structure::Attribute(attr) => {
                let name = attr.key.as_str().to_string();
                let pos = pos_of(file, attr.span());
                if out.contains_key(&name) {
                    diags.push(duplicate(ev, pos, &name));
                    continue;
                }
                out.insert(
                    name,
                    LocalDef {
                        file,
                        pos,
                        expr: attr.value.clone(),
                        sensitive: false,
                    },
                );
            }
            Structure::Block(b) => diags.push(unsupported_block(
                ev.map,
                pos_of(file, b.span()),
                b.ident.as_str(),
            )),
        }
    }
}

/// Adds a `local "name" { expression = ..., sensitive = ... }` block.
pub(crate) fn add_local(
    ev: &Evaluator,
    file: usize,
    block: &Block,
    out: &mut BTreeMap<String, LocalDef>,
    diags: &mut Diagnostics,
) {
    let pos = pos_of(file, block.span());
    let Some(name) = block
        .labels
        .first()
        .map(|l| l.as_str().to_string())
        .filter(|_| block.labels.len() == 1)
    else {
        diags.push(ev.map.error(
            pos,
            "Missing name for local",
            "All local blocks must have 1 labels (name).",
        ));
        return;
    };
    let mut expr = None;
    let mut sensitive = false;
    for s in block.body.iter() {
        match s {
            Structure::Attribute(attr) => match attr.key.as_str() {
                "expression" => expr = Some(attr.value.clone()),
                "sensitive" => {
                    match ev.expr(file, &attr.value, &Scope::new(crate::eval::Funcs::None)) {
                        Ok(Value::Bool(b)) => sensitive = b,
                        Ok(_) => diags.push(ev.map.error(
                            pos_of(file, attr.span()),
                            "Incorrect attribute value type",
                            "Inappropriate value for attribute \"sensitive\": bool required.",
                        )),
                        Err(e) => diags.extend(e),
                    }
                }
                other => diags.push(unsupported_argument(
                    ev.map,
                    pos_of(file, attr.span()),
                    other,
                )),
            },
            Structure::Block(b) => diags.push(unsupported_block(
                ev.map,
                pos_of(file, b.span()),
                b.ident.as_str(),
            )),
        }
    }
    let Some(expr) = expr else {
        diags.push(ev.map.error(
            pos,
            "Missing required argument",
            "The argument \"expression\" is required, but no definition was found.",
        ));
        return;
    };
    if out.contains_key(&name) {
        diags.push(duplicate(ev, pos, &name));
        return;
    }
    out.insert(
        name,
        LocalDef {
            file,
            pos,
            expr,
            sensitive,
        },
    );
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Node {
    Data(String, String),
    Local(String),
}

impl Node {
    fn label(&self) -> String {
        match self {
            Node::Data(t, n) => format!("data.{t}.{n}"),
            Node::Local(n) => format!("local.{n}"),
        }
    }
}

/// What evaluating locals and data produced.
pub(crate) struct Evaluated {
    pub locals: hcl::Map<String, Value>,
    pub data: hcl::Map<String, Value>,
    pub secrets: Vec<String>,
}

/// Evaluates data sources and locals in dependency order; `scope` has `var`, `path`, `packer`.
pub(crate) fn evaluate(
    ev: &Evaluator,
    scope: &Scope,
    locals: &BTreeMap<String, LocalDef>,
    data: &BTreeMap<(String, String), DataDef>,
    diags: &mut Diagnostics,
) -> Evaluated {
    let mut deps: BTreeMap<Node, (Pos, BTreeSet<Node>)> = BTreeMap::new();
    let node_deps = |exprs: Vec<&Expression>| -> BTreeSet<Node> {
        let mut out = BTreeSet::new();
        for e in exprs {
            for path in references(e) {
                match path.as_slice() {
                    [root, name, ..] if root == "local" && locals.contains_key(name) => {
                        out.insert(Node::Local(name.clone()));
                    }
                    [root, t, n, ..]
                        if root == "data" && data.contains_key(&(t.clone(), n.clone())) =>
                    {
                        out.insert(Node::Data(t.clone(), n.clone()));
                    }
                    _ => {}
                }
            }
        }
        out
    };
    for (name, def) in locals {
        deps.insert(
            Node::Local(name.clone()),
            (def.pos, node_deps(vec![&def.expr])),
        );
    }
    for ((t, n), def) in data {
        let exprs: Vec<&Expression> = def.body.attributes().map(|a| &a.value).collect();
        deps.insert(
            Node::Data(t.clone(), n.clone()),
            (def.pos, node_deps(exprs)),
        );
    }

    // Depth-first topological order; a back edge is a cycle.
    let mut order = Vec::new();
    let mut state: BTreeMap<Node, u8> = BTreeMap::new();
    let mut in_cycle: BTreeSet<Node> = BTreeSet::new();
    fn visit(
        node: &Node,
        deps: &BTreeMap<Node, (Pos, BTreeSet<Node>)>,
        state: &mut BTreeMap<Node, u8>,
        stack: &mut Vec<Node>,
        order: &mut Vec<Node>,
        cycles: &mut Vec<Vec<Node>>,
    ) {
        match state.get(node) {
            Some(2) => return,
            Some(1) => {
                if let Some(i) = stack.iter().position(|n| n == node) {
                    cycles.push(stack[i..].to_vec());
                }
                return;
            }
            _ => {}
        }
        state.insert(node.clone(), 1);
        stack.push(node.clone());
        if let Some((_, ds)) = deps.get(node) {
            for d in ds {
                visit(d, deps, state, stack, order, cycles);
            }
        }
        stack.pop();
        state.insert(node.clone(), 2);
        order.push(node.clone());
    }
    let mut cycles = Vec::new();
    for node in deps.keys() {
        visit(
            node,
            &deps,
            &mut state,
            &mut Vec::new(),
            &mut order,
            &mut cycles,
        );
    }
    for cycle in &cycles {
        let Some(first) = cycle.first() else { continue };
        let mut names: Vec<String> = cycle.iter().map(Node::label).collect();
        names.push(first.label());
        let pos = deps.get(first).map(|(p, _)| *p).unwrap_or_default();
        diags.push(ev.map.error(
            pos,
            "Cycle in local variables",
            format!("{}: a value cannot depend on itself.", names.join(" -> ")),
        ));
        in_cycle.extend(cycle.iter().cloned());
    }

    let mut out = Evaluated {
        locals: hcl::Map::new(),
        data: hcl::Map::new(),
        secrets: Vec::new(),
    };
    let mut failed: BTreeSet<Node> = in_cycle.clone();
    for node in order {
        if failed.contains(&node) {
            continue;
        }
        let Some((_, ds)) = deps.get(&node) else {
            continue;
        };
        if ds.iter().any(|d| failed.contains(d)) {
            failed.insert(node);
            continue;
        }
        let s = scope
            .with("local", Value::Object(out.locals.clone()))
            .with("data", Value::Object(out.data.clone()));
        match &node {
            Node::Local(name) => {
                let Some(def) = locals.get(name) else {
                    continue;
                };
                match ev.expr(def.file, &def.expr, &s) {
                    Ok(v) => {
                        if def.sensitive {
                            crate::eval::leaf_strings(&v, &mut out.secrets);
                        }
                        out.locals.insert(name.clone(), v);
                    }
                    Err(e) => {
                        diags.extend(e);
                        failed.insert(node);
                    }
                }
            }
            Node::Data(t, n) => {
                let Some(def) = data.get(&(t.clone(), n.clone())) else {
                    continue;
                };
                match data_source(ev, t, def, &s) {
                    Ok(v) => {
                        let by_type = out
                            .data
                            .entry(t.clone())
                            .or_insert_with(|| Value::Object(hcl::Map::new()));
                        if let Value::Object(m) = by_type {
                            m.insert(n.clone(), v);
                        }
                    }
                    Err(e) => {
                        diags.extend(e);
                        failed.insert(node);
                    }
                }
            }
        }
    }
    out
}

/// Runs a data source: only `null` (`input` → `output`).
fn data_source(
    ev: &Evaluator,
    kind: &str,
    def: &DataDef,
    scope: &Scope,
) -> Result<Value, Diagnostics> {
    if kind != "null" {
        return Err(ev
            .map
            .error(
                def.pos,
                "Unsupported data source type",
                format!("Data sources of type {kind:?} are not supported; the only data source available is \"null\"."),
            )
            .into());
    }
    let mut diags = Diagnostics::default();
    let mut input = Value::Null;
    for s in def.body.iter() {
        match s {
            Structure::Attribute(a) if a.key.as_str() == "input" => {
                match ev.expr(def.file, &a.value, scope) {
                    Ok(v) => input = v,
                    Err(e) => diags.extend(e),
                }
            }
            Structure::Attribute(a) => diags.push(unsupported_argument(
                ev.map,
                pos_of(def.file, a.span()),
                a.key.as_str(),
            )),
            Structure::Block(b) => diags.push(unsupported_block(
                ev.map,
                pos_of(def.file, b.span()),
                b.ident.as_str(),
            )),
        }
    }
    if diags.has_errors() {
        return Err(diags);
    }
    let mut obj = hcl::Map::new();
    obj.insert("input".to_string(), input.clone());
    obj.insert("output".to_string(), input);
    Ok(Value::Object(obj))
}
