//! The `packer` binary: a thin shell over the `packer` library.

fn main() {
    packer::logging::init_from_env();
    let code = packer::cli::main(std::env::args_os().skip(1).collect());
    std::process::exit(code);
}
