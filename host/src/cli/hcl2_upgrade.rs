//! `packer hcl2_upgrade`: writes an HCL2 template equivalent to a JSON one
//! (`packer_hcl2::upgrade`), next to it as `<TEMPLATE>.pkr.hcl`.

use super::args::{self, UpgradeArgs};
use super::{EXIT_ERROR, EXIT_OK, help};
use std::path::{Path, PathBuf};

/// Runs `packer hcl2_upgrade` with `args`; returns the exit code.
pub fn run(args: Vec<String>) -> i32 {
    let args: UpgradeArgs = match args::parse("hcl2_upgrade", &args) {
        Ok(a) => a,
        Err(message) => {
            eprintln!("{message}\n{}", help::HCL2_UPGRADE);
            return EXIT_ERROR;
        }
    };
    if args.help {
        println!("{}", help::HCL2_UPGRADE.trim_end());
        return EXIT_OK;
    }
    let [template] = args.template.as_slice() else {
        eprintln!("{}", help::HCL2_UPGRADE);
        return EXIT_ERROR;
    };
    let output = args
        .output_file
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{template}.pkr.hcl")));
    match upgrade(Path::new(template), &output) {
        Ok(()) => {
            println!("Successfully created {}. Exit 0", output.display());
            EXIT_OK
        }
        Err(message) => {
            eprintln!("{message}");
            EXIT_ERROR
        }
    }
}

fn upgrade(template: &Path, output: &Path) -> Result<(), String> {
    let raw = std::fs::read_to_string(template)
        .map_err(|e| format!("Error: {}: {e}", template.display()))?;
    let parsed = packer_template::parse_file(template).map_err(|e| e.to_string())?;
    let hcl = packer_hcl2::upgrade(&parsed, &raw)?;
    std::fs::write(output, hcl).map_err(|e| format!("Error: {}: {e}", output.display()))
}
