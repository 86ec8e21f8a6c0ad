//! The lines Packer prints once every build has ended.

use super::runner::{BuildOutcome, BuildReport};
use packer_ui::Output;

/// Prints the error list and the artifact list; returns whether any build failed.
pub fn print(output: &Output, reports: &[BuildReport]) -> bool {
    let failed: Vec<(&str, &str)> = reports
        .iter()
        .filter_map(|r| match &r.outcome {
            BuildOutcome::Failed(message) => Some((r.name.as_str(), message.as_str())),
            _ => None,
        })
        .collect();
    if !failed.is_empty() {
        output.machine("", "error-count", &[&failed.len().to_string()]);
        output.error("\n==> Some builds didn't complete successfully and had errors:");
        for (name, message) in &failed {
            output.machine(name, "error", &[message]);
            output.error(&format!("--> {name}: {message}"));
        }
    }

    let with_artifacts: Vec<&BuildReport> =
        reports.iter().filter(|r| !r.artifacts.is_empty()).collect();
    if with_artifacts.is_empty() {
        output.say("\n==> Builds finished but no artifacts were created.");
        return !failed.is_empty();
    }
    output.say("\n==> Builds finished. The artifacts of successful builds are:");
    for report in with_artifacts {
        let name = report.name.as_str();
        output.machine(
            name,
            "artifact-count",
            &[&report.artifacts.len().to_string()],
        );
        for (index, artifact) in report.artifacts.iter().enumerate() {
            let i = index.to_string();
            let i = i.as_str();
            output.machine(name, "artifact", &[i, "builder-id", &artifact.builder_id]);
            output.machine(name, "artifact", &[i, "id", &artifact.id]);
            output.machine(name, "artifact", &[i, "string", &artifact.description]);
            output.machine(
                name,
                "artifact",
                &[i, "files-count", &artifact.files.len().to_string()],
            );
            for (j, file) in artifact.files.iter().enumerate() {
                output.machine(name, "artifact", &[i, "file", &j.to_string(), file]);
            }
            output.machine(name, "artifact", &[i, "end"]);
            output.say(&format!("--> {name}: {}", artifact.description));
        }
    }
    !failed.is_empty()
}
