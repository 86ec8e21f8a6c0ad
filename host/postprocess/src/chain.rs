//! Packer's post-processor chain (`CoreBuild.Run`, after the builder ran).

use packer_ui::BuildUi;
use tokio_util::sync::CancellationToken;

use crate::artifact::Artifact;
use crate::error::go_slice_literal;
use crate::{PostProcessEnv, PreparedPostProcessor};

/// What running a build's post-processors produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChainOutcome {
    /// The build's artifacts in Packer's order: the builder's artifact first
    /// (if kept), then per sequence the kept intermediate artifacts and the
    /// last artifact. The host prints `--> <build>: <description>` for each.
    pub artifacts: Vec<Artifact>,
    /// Whether the builder's artifact is kept: true if there are no
    /// sequences or any first post-processor of a sequence kept its input.
    /// When false the host must destroy it (Packer's
    /// `Error destroying builder artifact: …` is the host's to report).
    pub keep_builder_artifact: bool,
    /// `Post-processor failed: <err>` per failed post-processor (the rest of
    /// its sequence was skipped), and clean-up failures
    /// (`Failed cleaning up prior artifact: <err>; pp is <type>`). Any error
    /// means the build errored; its `artifacts` are still listed.
    pub errors: Vec<String>,
    /// Only from [`run_sequences`]: host-owned artifacts (see
    /// [`crate::DestroyAction::Host`]) Packer would have `Destroy()`ed, in
    /// order; the builder's artifact is last when it is not kept.
    pub destroy_requests: Vec<Artifact>,
    /// The build was cancelled: post-processors not yet started were
    /// skipped and the builder's artifact is kept.
    pub cancelled: bool,
}

/// Runs a build's post-processor sequences on `builder_artifact`, exactly as
/// Packer's `CoreBuild.Run` does.
///
/// Every sequence starts from the builder's artifact; inside a sequence each
/// post-processor gets the previous one's artifact. Before each one,
/// `Running post-processor: <type>` (or `<name> (type <type>)`) is said on
/// `ui`; the post-processor's own messages go to
/// `ui.with_target("<build> (<type>)")`.
///
/// `keep`: the user's `keep_input_artifact` overrides the post-processor's
/// default unless the post-processor forces keeping (keep && forceOverride
/// && user=false). Intermediate artifacts not kept are destroyed right away:
/// post-processor-created files are deleted here, host-owned artifacts are
/// listed in [`ChainOutcome::destroy_requests`] (use
/// [`run_sequences_with_destroyer`] to destroy them at the same moment as
/// Packer does).
pub async fn run_sequences(
    sequences: &[Vec<PreparedPostProcessor>],
    builder_artifact: Artifact,
    ui: &BuildUi,
    env: &PostProcessEnv,
    cancel: &CancellationToken,
) -> ChainOutcome {
    let mut requests = Vec::new();
    let mut record = |a: &Artifact| -> Result<(), String> {
        requests.push(a.clone());
        Ok(())
    };
    let mut outcome = run_inner(sequences, builder_artifact, ui, env, cancel, &mut record).await;
    outcome.destroy_requests = requests;
    outcome
}

/// Like [`run_sequences`], but host-owned artifacts (the builder's, also
/// when a post-processor such as `manifest` passed it on) are destroyed by
/// calling `destroy_host_artifact` at the moment Packer calls `Destroy()`.
/// Its errors are reported as Packer does:
/// `Failed cleaning up prior artifact: <err>; pp is <type>` and
/// `Error destroying builder artifact: <err>; bad artifact: []string{…}`.
pub async fn run_sequences_with_destroyer(
    sequences: &[Vec<PreparedPostProcessor>],
    builder_artifact: Artifact,
    ui: &BuildUi,
    env: &PostProcessEnv,
    cancel: &CancellationToken,
    destroy_host_artifact: &mut (dyn FnMut(&Artifact) -> Result<(), String> + Send),
) -> ChainOutcome {
    run_inner(
        sequences,
        builder_artifact,
        ui,
        env,
        cancel,
        destroy_host_artifact,
    )
    .await
}

fn destroy(
    artifact: &Artifact,
    env: &PostProcessEnv,
    host: &mut (dyn FnMut(&Artifact) -> Result<(), String> + Send),
) -> Result<(), String> {
    if artifact.destroyed_by_host() {
        host(artifact)
    } else {
        artifact.destroy(&env.working_dir).map(|_| ())
    }
}

async fn run_inner(
    sequences: &[Vec<PreparedPostProcessor>],
    builder_artifact: Artifact,
    ui: &BuildUi,
    env: &PostProcessEnv,
    cancel: &CancellationToken,
    host_destroy: &mut (dyn FnMut(&Artifact) -> Result<(), String> + Send),
) -> ChainOutcome {
    let mut outcome = ChainOutcome::default();
    let mut keep_original = sequences.is_empty();

    'sequences: for sequence in sequences {
        let mut prior = builder_artifact.clone();
        for (i, pp) in sequence.iter().enumerate() {
            if cancel.is_cancelled() {
                outcome.cancelled = true;
                if i > 0 {
                    outcome.artifacts.push(prior);
                }
                break 'sequences;
            }
            ui.say(&pp.announce_line());
            let pp_ui = ui.with_target(&pp.ui_target(ui.target()));
            let result = pp
                .processor()
                .post_process(&prior, &pp_ui, env, cancel)
                .await;
            let output = match result {
                Ok(output) => output,
                Err(e) => {
                    outcome.errors.push(format!("Post-processor failed: {e}"));
                    continue 'sequences;
                }
            };
            let Some(artifact) = output.artifact else {
                // A nil artifact silently halts this sequence.
                continue 'sequences;
            };
            let mut keep = output.keep;
            if let Some(user) = pp.keep_input_artifact() {
                let forced = output.keep && !user && output.force_override;
                if !forced {
                    keep = user;
                }
            }
            if i == 0 {
                // The builder's artifact may be used by other sequences:
                // decided once all of them ran.
                keep_original |= keep;
            } else if keep {
                outcome.artifacts.push(prior);
            } else if let Err(e) = destroy(&prior, env, host_destroy) {
                outcome.errors.push(format!(
                    "Failed cleaning up prior artifact: {e}; pp is {}",
                    pp.kind()
                ));
            }
            prior = artifact;
        }
        outcome.artifacts.push(prior);
    }

    if outcome.cancelled {
        keep_original = true;
    }
    outcome.keep_builder_artifact = keep_original;
    if keep_original {
        outcome.artifacts.insert(0, builder_artifact);
    } else if let Err(e) = destroy(&builder_artifact, env, host_destroy) {
        outcome.errors.push(format!(
            "Error destroying builder artifact: {e}; bad artifact: {}",
            go_slice_literal(&builder_artifact.files)
        ));
    }
    outcome
}

#[cfg(test)]
mod tests;
