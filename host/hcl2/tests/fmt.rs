//! `packer fmt` (hclwrite.Format) behaviour: a table of input → output,
//! idempotence over every fixture, and formatting never changing what `load`
//! makes of a fixture.

use std::path::{Path, PathBuf};

use packer_hcl2::{Hcl2Plan, LoadOptions, format_file, format_source, load};
use serde_json::{Value, json};

const CASES: &[(&str, &str, &str)] = &[
    (
        "align a run",
        "a=1\nbbb = 2\ncc= 3\n",
        "a   = 1\nbbb = 2\ncc  = 3\n",
    ),
    (
        "a blank line ends a run (blank lines kept)",
        "a = 1\n\nbbb = 2\n",
        "a = 1\n\nbbb = 2\n",
    ),
    (
        "a comment line ends a run",
        "a = 1\n# c\nbbb = 2\n",
        "a = 1\n# c\nbbb = 2\n",
    ),
    (
        "nesting: two spaces per level",
        "source \"a\" \"b\" {\nx = 1\nnested {\ny = 2\n}\n}\n",
        "source \"a\" \"b\" {\n  x = 1\n  nested {\n    y = 2\n  }\n}\n",
    ),
    (
        "block boundaries end runs",
        "b {\nx=1\n}\nlong_name = 2\nb {\nlonger=2\ny=3\n}\n",
        "b {\n  x = 1\n}\nlong_name = 2\nb {\n  longer = 2\n  y      = 3\n}\n",
    ),
    (
        "wrong indentation fixed",
        "build {\n        sources = [\"a\"]\n      }\n",
        "build {\n  sources = [\"a\"]\n}\n",
    ),
    (
        "trailing comments aligned",
        "a = 1 # one\nbbb = \"x\"    // two\n",
        "a   = 1   # one\nbbb = \"x\" // two\n",
    ),
    (
        "comments kept and indented",
        "b {\n# c\n      // d\n/* e */\nx = 1\n}\n",
        "b {\n  # c\n  // d\n  /* e */\n  x = 1\n}\n",
    ),
    (
        "multi-line block comment untouched",
        "/* one\n     two */\na = 1\n",
        "/* one\n     two */\na = 1\n",
    ),
    (
        "operators and calls (`g-1` is one identifier in HCL)",
        "a=1+2*3\nb=f( x , y )\nc = ! d\ne = - 1\nf = g -1\nh = x==y&&z\ni = g-1\n",
        "a = 1 + 2 * 3\nb = f(x, y)\nc = !d\ne = -1\nf = g - 1\nh = x == y && z\ni = g-1\n",
    ),
    ("arrays", "l=[ 1,2 , 3 ]\n", "l = [1, 2, 3]\n"),
    (
        "multi-line array",
        "l = [\n\"a\",\n      \"b\"\n]\n",
        "l = [\n  \"a\",\n  \"b\"\n]\n",
    ),
    (
        "single-line object",
        "o={a=1,b=\"x\"}\n",
        "o = { a = 1, b = \"x\" }\n",
    ),
    (
        "multi-line object aligned",
        "o = {\na = 1\nbbb = 2\n}\n",
        "o = {\n  a   = 1\n  bbb = 2\n}\n",
    ),
    (
        "index, attribute access, conditional, for",
        "a = b [ 0 ] . c\nd = x ? -1 : 2\ne = [ for k, v in var.m : upper( k ) if v ]\n",
        "a = b[0].c\nd = x ? -1 : 2\ne = [for k, v in var.m : upper(k) if v]\n",
    ),
    (
        "heredoc body untouched",
        "x=<<EOF\n  keep   this ${ var.y }\n    as  is\nEOF\ny = 1\n",
        "x = <<EOF\n  keep   this ${var.y}\n    as  is\nEOF\ny = 1\n",
    ),
    (
        "indented heredoc untouched",
        "b {\nx = <<-EOT\n      a\n    EOT\n}\n",
        "b {\n  x = <<-EOT\n      a\n    EOT\n}\n",
    ),
    (
        "template strings: literal text kept, interpolations tidied",
        "a = \"  spaces  ${ var.x }  kept  %{ if true }y%{ endif }\"\n",
        "a = \"  spaces  ${var.x}  kept  %{if true}y%{endif}\"\n",
    ),
    ("empty blocks", "a {\n}\nb { }\n", "a {\n}\nb {}\n"),
    ("single-line block", "b {x=1}\n", "b { x = 1 }\n"),
    (
        "trailing whitespace removed, several blank lines kept",
        "a = 1   \n  \n\n\nb = 2\t\n",
        "a = 1\n\n\n\nb = 2\n",
    ),
    ("no newline added at the end", "a = 1", "a = 1"),
    (
        "nested brackets on one line count once",
        "x = {\n  l = [{\n    a = 1\n  }]\n}\n",
        "x = {\n  l = [{\n    a = 1\n  }]\n}\n",
    ),
];

#[test]
fn table() {
    let mut failures = Vec::new();
    for (name, input, expected) in CASES {
        match format_source(input, "t.pkr.hcl") {
            Ok(out) if out == *expected => {}
            Ok(out) => failures.push(format!(
                "{name}:\n--- input\n{input}\n--- expected\n{expected}\n--- got\n{out}"
            )),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
        if let Ok(again) = format_source(expected, "t.pkr.hcl")
            && again != *expected
        {
            failures.push(format!("{name}: expected output is not stable:\n{again}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn invalid_hcl_is_rejected() {
    let err = format_source("a = {\n", "bad.pkr.hcl").unwrap_err();
    let d = &err.0[0];
    assert_eq!(d.summary, "Invalid HCL syntax");
    assert_eq!(d.file.as_deref(), Some("bad.pkr.hcl"));
    assert!(d.line >= 1);
}

fn fixture_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn hcl_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".pkr.hcl"))
        .collect();
    files.sort();
    files
}

#[test]
fn idempotent_over_fixtures() {
    let mut count = 0;
    for dir in fixture_dirs() {
        for file in hcl_files(&dir) {
            let text = std::fs::read_to_string(&file).unwrap();
            let Ok(once) = format_source(&text, &file.display().to_string()) else {
                // Deliberately broken fixtures (err_syntax).
                continue;
            };
            let twice = format_source(&once, "again").unwrap();
            assert_eq!(once, twice, "not idempotent: {}", file.display());
            count += 1;
        }
    }
    assert!(count > 30, "only {count} fixtures formatted");
}

/// What a load gives, without locations (formatting moves columns).
fn summary(plan: &Result<Hcl2Plan, packer_hcl2::Diagnostics>) -> Value {
    match plan {
        Ok(p) => json!({
            "variables": p.variables,
            "secrets": p.secrets,
            "builds": p.builds.iter().map(|b| json!({
                "name": b.name, "type": b.builder_type, "config": b.config,
                "provisioners": b.provisioners.iter().map(|p| json!([p.kind, p.config, p.pause_before, p.max_retries, p.timeout, p.continue_on_error])).collect::<Vec<_>>(),
                "error_cleanup": b.error_cleanup.as_ref().map(|p| json!([p.kind, p.config])),
                "post_processors": b.post_processors.iter().map(|s| s.iter().map(|p| json!([p.kind, p.name, p.config, p.keep_input_artifact])).collect::<Vec<_>>()).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "warnings": p.warnings.iter().map(|w| w.summary.clone()).collect::<Vec<_>>(),
        }),
        Err(d) => json!({ "errors": d.0.iter().map(|e| e.summary.clone()).collect::<Vec<_>>() }),
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target).unwrap();
        }
    }
}

#[test]
fn formatting_keeps_what_load_evaluates() {
    let tmp = std::env::temp_dir().join(format!("packer-hcl2-fmt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let mut changed = 0;
    for dir in fixture_dirs() {
        let copy = tmp.join(dir.file_name().unwrap());
        copy_dir(&dir, &copy);
        for file in hcl_files(&copy) {
            if let Ok(Some(new)) = format_file(&file) {
                std::fs::write(&file, new).unwrap();
                changed += 1;
            }
        }
        let options = |cwd: &Path| LoadOptions {
            packer_version: "1.6.6".into(),
            cwd: cwd.to_path_buf(),
            ..Default::default()
        };
        let before = summary(&load(Path::new("."), &options(&dir)));
        let after = summary(&load(Path::new("."), &options(&copy)));
        // `path.cwd`/`path.root` and `abspath` differ between the two directories.
        let before = before
            .to_string()
            .replace(&dir.display().to_string(), "<dir>");
        let after = after
            .to_string()
            .replace(&copy.display().to_string(), "<dir>");
        assert_eq!(before, after, "formatting changed {}", dir.display());
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(changed > 0, "no fixture needed formatting");
}
