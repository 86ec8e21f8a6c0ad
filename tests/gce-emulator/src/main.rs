//! `gce-emulator`: serves the emulator until SIGTERM/SIGINT.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use packer_gce_emulator::{Config, Emulator, ServiceAccountKey};

/// Local emulator of Google Compute Engine v1 and Google's OAuth2 token endpoint.
#[derive(Debug, Parser)]
#[command(name = "gce-emulator", version)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// A project that exists (repeatable). Default: my-project.
    #[arg(long = "project")]
    projects: Vec<String>,
    /// Write a service-account JSON (trusted by this emulator) to this path.
    #[arg(long)]
    service_account_out: Option<PathBuf>,
    /// Trust an existing service-account JSON instead of generating a key.
    #[arg(long)]
    service_account: Option<PathBuf>,
    /// How long each operation stays RUNNING (ms).
    #[arg(long, default_value_t = 0)]
    op_latency_ms: u64,
    /// Fault spec, e.g. 429:0.1,503:0.05,reset:0.02,op:QUOTA_EXCEEDED:0.1
    #[arg(long, default_value = "")]
    faults: String,
    /// Deterministic fault METHOD_ID:KIND[#COUNT], e.g. compute.instances.insert:op:QUOTA_EXCEEDED#1 (repeatable).
    #[arg(long = "fail-method")]
    fail_methods: Vec<String>,
    /// Seed for faults and ids.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Use the random fault schedule of this seed (replaces --faults, --fail-method and --seed).
    #[arg(long)]
    fault_schedule: Option<u64>,
    /// authorized_keys file that mirrors instances' ssh-keys metadata.
    #[arg(long)]
    authorized_keys: Option<PathBuf>,
    /// IP reported as natIP and networkIP.
    #[arg(long, default_value = "127.0.0.1")]
    instance_ip: String,
    /// Compute v1 discovery document used for validation ("none" disables validation).
    #[arg(long, default_value = packer_gce_emulator::config::DEFAULT_DISCOVERY_PATH)]
    discovery: String,
    /// Lifetime of issued access tokens (seconds).
    #[arg(long, default_value_t = 3600)]
    token_ttl_secs: u64,
    /// Maximum blocking time of operations.wait (seconds).
    #[arg(long, default_value_t = 120)]
    wait_timeout_secs: u64,
    /// Accept packer 1.6.6's malformed sourceDisk URLs (real GCE rejects them).
    #[arg(long)]
    lenient_urls: bool,
}

async fn run(cli: Cli) -> Result<(), String> {
    let service_account = match &cli.service_account {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).map_err(|e| format!("reading {}: {e}", p.display()))?;
            let v =
                serde_json::from_str(&text).map_err(|e| format!("parsing {}: {e}", p.display()))?;
            Some(Arc::new(ServiceAccountKey::from_json(&v)?))
        }
        None => None,
    };
    let mut config = Config {
        listen: cli.listen,
        projects: cli.projects,
        op_latency: Duration::from_millis(cli.op_latency_ms),
        faults: cli.faults,
        fail_methods: cli.fail_methods,
        seed: cli.seed,
        authorized_keys: cli.authorized_keys,
        instance_ip: cli.instance_ip,
        discovery: (cli.discovery != "none").then(|| PathBuf::from(&cli.discovery)),
        token_ttl: Duration::from_secs(cli.token_ttl_secs),
        service_account,
        service_account_out: cli.service_account_out,
        wait_timeout: Duration::from_secs(cli.wait_timeout_secs),
        lenient_urls: cli.lenient_urls,
    };
    if let Some(seed) = cli.fault_schedule {
        let schedule = packer_gce_emulator::Schedule::from_seed(seed);
        eprintln!("gce-emulator: fault schedule {schedule}");
        schedule.apply(&mut config);
    }
    let emu = Emulator::start(config).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "gce-emulator listening on {}", emu.base_url()).map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("installing SIGTERM handler: {e}"))?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    emu.shutdown().await;
    Ok(())
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gce-emulator: starting runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gce-emulator: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
