//! A build's provisioners and post-processors, prepared from its plan:
//! options rendered with the build's template context, checked, and turned
//! into the provisioning hook and the post-processor sequences.

use super::plan::{BuildSpec, ProvisionerSpec};
use super::runner::RunOptions;
use crate::communicator::ProvisionHook;
use packer_postprocess::{PostProcessEnv, PreparedPostProcessor};
use packer_provision::{CommonOptions, PreparedProvisioner, ProvisionEnv};
use packer_ui::BuildUi;

/// What a build runs besides its builder.
pub struct Components {
    /// The provisioning hook (provisioners and error-cleanup provisioner).
    pub hook: ProvisionHook,
    /// Post-processor sequences.
    pub post_processors: Vec<Vec<PreparedPostProcessor>>,
    /// What post-processors know of the build.
    pub post_process_env: PostProcessEnv,
}

/// Prepares `spec`'s provisioners and post-processors; errors are in
/// Packer's words, one per problem.
pub fn prepare(
    spec: &BuildSpec,
    ui: &BuildUi,
    options: &RunOptions,
    run_uuid: &str,
) -> Result<Components, Vec<String>> {
    let mut errors = Vec::new();
    let env = ProvisionEnv {
        build_name: spec.name.clone(),
        builder_type: spec.builder_type.clone(),
        working_dir: options.working_dir.clone(),
        ctx: spec.context.clone(),
    };
    let mut provisioners = Vec::new();
    for (index, p) in spec.provisioners.iter().enumerate() {
        match provisioner(p, &env) {
            Ok(prepared) => provisioners.push(prepared),
            Err(mut e) => {
                prefix(&mut e, &format!("provisioner {} ({})", index + 1, p.kind));
                errors.append(&mut e);
            }
        }
    }
    let error_cleanup = match &spec.error_cleanup {
        Some(p) => match provisioner(p, &env) {
            Ok(prepared) => Some(prepared),
            Err(mut e) => {
                prefix(&mut e, &format!("error-cleanup-provisioner ({})", p.kind));
                errors.append(&mut e);
                None
            }
        },
        None => None,
    };
    let post_process_env = PostProcessEnv {
        build_name: spec.name.clone(),
        builder_type: spec.builder_type.clone(),
        packer_run_uuid: run_uuid.to_string(),
        working_dir: options.working_dir.clone(),
        ctx: spec.context.clone(),
    };
    let mut post_processors = Vec::new();
    for sequence in &spec.post_processors {
        let mut prepared = Vec::new();
        for pp in sequence {
            let name = (pp.name != pp.kind).then_some(pp.name.as_str());
            match packer_postprocess::prepare(
                &pp.kind,
                name,
                pp.config.clone(),
                pp.keep_input_artifact,
                &post_process_env,
            ) {
                Ok(p) => prepared.push(p),
                Err(mut e) => {
                    prefix(&mut e, &format!("post-processor ({})", pp.kind));
                    errors.append(&mut e);
                }
            }
        }
        post_processors.push(prepared);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Components {
        hook: ProvisionHook {
            provisioners,
            error_cleanup,
            on_error: options.on_error.clone(),
            ui: ui.clone(),
            run_uuid: run_uuid.to_string(),
        },
        post_processors,
        post_process_env,
    })
}

fn prefix(errors: &mut [String], what: &str) {
    for e in errors.iter_mut() {
        *e = format!("{what}: {e}");
    }
}

fn provisioner(
    p: &ProvisionerSpec,
    env: &ProvisionEnv,
) -> Result<PreparedProvisioner, Vec<String>> {
    let mut common = CommonOptions::parse(
        p.pause_before.as_deref(),
        p.timeout.as_deref(),
        p.max_retries.as_deref(),
        &env.ctx,
    )?;
    common.continue_on_error = p.continue_on_error;
    packer_provision::prepare(&p.kind, p.config.clone(), common, env)
}
