//! Prints the plan of a configuration: `cargo run --example dump -- <path> [k=v ...]`.
fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| ".".into());
    let vars = args
        .filter_map(|a| {
            a.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    let options = packer_hcl2::LoadOptions {
        vars,
        env: std::env::vars().collect(),
        packer_version: "1.6.6".into(),
        cwd: std::env::current_dir().unwrap_or_default(),
        ..Default::default()
    };
    match packer_hcl2::load(std::path::Path::new(&path), &options) {
        Ok(plan) => println!("{plan:#?}"),
        Err(diags) => eprintln!("{diags}"),
    }
}
