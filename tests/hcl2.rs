//! HCL2 templates through the real binary: the seed's file build written in
//! HCL2, variables from every source, provisioners and post-processors, and
//! diagnostics that point at the source.

use packer_e2e::Scratch;

const SEED_HCL: &str = r#"
source "file" "example" {
  content = "ubuntu"
  target  = "dummy_artifact"
}

build {
  sources = ["source.file.example"]
}
"#;

const SEED_JSON: &str = r#"{
  "builders": [{"type": "file", "name": "file.example", "content": "ubuntu", "target": "dummy_artifact"}]
}"#;

#[test]
fn the_seeds_file_build_in_hcl2_matches_the_json_one() {
    let hcl = Scratch::new();
    hcl.write("seed.pkr.hcl", SEED_HCL);
    let from_hcl = hcl.packer(&["build", "seed.pkr.hcl"]);
    assert_eq!(from_hcl.code, 0, "{}\n{}", from_hcl.stdout, from_hcl.stderr);
    assert_eq!(hcl.read("dummy_artifact").as_deref(), Some("ubuntu"));

    // The same build from JSON, named as HCL2 names it, prints the same lines.
    let json = Scratch::new();
    json.write("seed.json", SEED_JSON);
    let from_json = json.packer(&["build", "seed.json"]);
    assert_eq!(from_json.code, 0, "{}", from_json.stdout);
    assert_eq!(from_hcl.normalized(), from_json.normalized());
    assert!(
        from_hcl
            .stdout
            .contains("--> file.example: Stored file: dummy_artifact")
    );
}

#[test]
fn a_directory_with_variables_from_every_source() {
    let scratch = Scratch::new();
    scratch.write(
        "t/main.pkr.hcl",
        r#"
variable "a" { default = "default" }
variable "b" { default = "default" }
variable "c" { default = "default" }
variable "d" { default = "default" }
variable "secret" {
  default   = "hunter2"
  sensitive = true
}
locals { joined = "${var.a}-${var.b}-${var.c}-${var.d}" }

source "file" "vars" {
  content = local.joined
  target  = "out.txt"
}

build {
  sources = ["source.file.vars"]
  provisioner "shell-local" {
    inline = ["echo secret is ${var.secret}"]
  }
}
"#,
    );
    scratch.write(
        "t/x.auto.pkrvars.hcl",
        "b = \"auto\"\nc = \"auto\"\nd = \"auto\"\n",
    );
    scratch.write("extra.pkrvars.hcl", "c = \"file\"\nd = \"file\"\n");
    let mut command = scratch.command(&[
        "build",
        "-var-file=extra.pkrvars.hcl",
        "-var",
        "d=flag",
        "t",
    ]);
    command.env("PKR_VAR_a", "env");
    let run = scratch.run(command);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        scratch.read("out.txt").as_deref(),
        Some("env-auto-file-flag")
    );
    assert!(
        run.stdout.contains("    file.vars: secret is <sensitive>"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("hunter2"));
}

#[test]
fn validate_points_at_the_mistake_and_suggests_a_name() {
    let scratch = Scratch::new();
    scratch.write(
        "bad.pkr.hcl",
        r#"variable "greeting" { default = "hi" }

source "file" "x" {
  content = var.greting
  target  = "x.txt"
}

build { sources = ["source.file.x"] }
"#,
    );
    let run = scratch.packer(&["validate", "bad.pkr.hcl"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains("on bad.pkr.hcl line 4:"), "{all}");
    assert!(all.contains("content = var.greting"), "{all}");
    assert!(all.contains("Did you mean \"greeting\"?"), "{all}");
}

#[test]
fn only_globs_full_build_names() {
    let scratch = Scratch::new();
    scratch.write(
        "two.pkr.hcl",
        r#"
source "file" "a" {
  content = "a"
  target  = "a.txt"
}
source "file" "b" {
  content = "b"
  target  = "b.txt"
}
build {
  name    = "mybuild"
  sources = ["source.file.a", "source.file.b"]
}
"#,
    );
    let run = scratch.packer(&["build", "-only=*.file.b", "two.pkr.hcl"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(scratch.read("b.txt").is_some());
    assert!(scratch.read("a.txt").is_none());
    assert!(
        run.stdout
            .contains("--> mybuild.file.b: Stored file: b.txt"),
        "{}",
        run.stdout
    );
}
