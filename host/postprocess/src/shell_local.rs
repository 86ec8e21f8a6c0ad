//! The `shell-local` post-processor: runs a local command or script (the
//! `shell-local` provisioner's code) with the artifact's generated data, and
//! passes its input artifact on (keep and force-override both true, as Packer).

use crate::{Artifact, BoxFuture, KindPrepared, PostProcessEnv, PostProcessOutput, PostProcessor};
use packer_provision::ProvisionEnv;
use packer_provision::shell_local::ShellLocal;
use packer_ui::BuildUi;
use tokio_util::sync::CancellationToken;

/// A prepared `shell-local` post-processor.
#[derive(Debug)]
pub struct ShellLocalPostProcessor {
    inner: ShellLocal,
}

/// Checks and keeps the configuration.
pub(crate) fn prepare(config: serde_json::Value, env: &PostProcessEnv) -> KindPrepared {
    let provision_env = ProvisionEnv {
        build_name: env.build_name.clone(),
        builder_type: env.builder_type.clone(),
        working_dir: env.working_dir.clone(),
        ctx: env.ctx.clone(),
    };
    let inner = ShellLocal::prepare(config, &provision_env)?;
    Ok((Box::new(ShellLocalPostProcessor { inner }), None))
}

impl PostProcessor for ShellLocalPostProcessor {
    fn post_process<'a>(
        &'a self,
        input: &'a Artifact,
        ui: &'a BuildUi,
        _env: &'a PostProcessEnv,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<PostProcessOutput, String>> {
        Box::pin(async move {
            self.inner
                .run(ui, &input.state, cancel)
                .await
                .map_err(|e| e.to_string())?;
            Ok(PostProcessOutput {
                artifact: Some(input.clone()),
                keep: true,
                force_override: true,
            })
        })
    }
}
