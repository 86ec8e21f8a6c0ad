//! Removing what a build made: the instance, its boot disk and, when the
//! build failed while making it, the image.
//!
//! Cleanup runs after success (the boot disk), failure and cancellation, with
//! Packer's messages. Its API calls keep going after Ctrl-C. With
//! `-on-error=abort` a failed build leaves everything in place and says what.
//! Whatever could not be deleted is listed with the `gcloud` command that
//! deletes it.

use crate::config::Settings;
use crate::steps::Build;
use packer_plugin_sdk::ui;

/// A resource the build may have left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leftover {
    /// A VM instance.
    Instance,
    /// A persistent disk.
    Disk,
    /// An image.
    Image,
}

/// The `gcloud` command that deletes `what`.
pub fn delete_command(what: &Leftover, s: &Settings) -> String {
    match what {
        Leftover::Instance => format!(
            "gcloud compute instances delete {} --zone {} --project {}",
            s.instance_name, s.zone, s.project_id
        ),
        Leftover::Disk => format!(
            "gcloud compute disks delete {} --zone {} --project {}",
            s.disk_name, s.zone, s.project_id
        ),
        Leftover::Image => format!(
            "gcloud compute images delete {} --project {}",
            s.image_name, s.image_project_id
        ),
    }
}

/// The message listing leftovers and how to delete them.
pub fn leftovers_message(header: &str, leftovers: &[Leftover], s: &Settings) -> String {
    let mut msg = header.to_string();
    for l in leftovers {
        msg.push_str("\n  ");
        msg.push_str(&delete_command(l, s));
    }
    msg
}

impl Build {
    /// What may still exist (the image only when the build did not finish it).
    pub fn possible_leftovers(&self, failed: bool) -> Vec<Leftover> {
        let mut out = Vec::new();
        if failed && self.image_sent && !self.image_done {
            out.push(Leftover::Image);
        }
        if self.instance_may_exist {
            out.push(Leftover::Instance);
        }
        if self.disk_may_exist {
            out.push(Leftover::Disk);
        }
        out
    }

    /// Cleans up. `failed` is true when the build failed or was cancelled;
    /// `cancelled` when the user pressed Ctrl-C.
    pub fn cleanup(&mut self, failed: bool, cancelled: bool) {
        let s = self.settings.clone();
        if failed && !cancelled && self.context.on_error == "abort" {
            let left = self.possible_leftovers(true);
            if !left.is_empty() {
                ui::say(&leftovers_message(
                    "Not cleaning up (-on-error=abort). These resources were left; delete them with:",
                    &left,
                    &s,
                ));
            }
            return;
        }
        self.client.cleanup = true;
        let mut left = Vec::new();

        if failed && self.image_sent && !self.image_done {
            ui::say("Deleting image...");
            match self.delete_image() {
                Ok(()) => ui::message("Image has been deleted!"),
                Err(e) => {
                    ui::error(&format!(
                        "Error deleting image. Please delete it manually.\n\nName: {}\nError: {e}",
                        s.image_name
                    ));
                    left.push(Leftover::Image);
                }
            }
        }

        // StepCreateInstance's cleanup: the instance, then its disk.
        let torn_down = !self.instance_may_exist;
        if self.instance_may_exist {
            ui::say("Deleting instance...");
            if let Err(e) = self.delete_instance() {
                ui::error(&format!(
                    "Error deleting instance. Please delete it manually.\n\nName: {}\nError: {e}",
                    s.instance_name
                ));
                left.push(Leftover::Instance);
            }
            ui::message("Instance has been deleted!");
        }
        if self.disk_may_exist {
            ui::say("Deleting disk...");
            if let Err(e) = self.delete_disk() {
                if torn_down {
                    ui::error(&format!(
                        "Error deleting disk. Please delete it manually.\n\nDiskName: {}\nZone: {}\nError: {e}",
                        s.disk_name, s.zone
                    ));
                } else {
                    ui::error(&format!(
                        "Error deleting disk. Please delete it manually.\n\nName: {}\nError: {e}",
                        s.disk_name
                    ));
                }
                left.push(Leftover::Disk);
            }
            ui::message("Disk has been deleted!");
        }
        if !left.is_empty() {
            ui::error(&leftovers_message(
                "Some resources could not be deleted. Delete them manually with:",
                &left,
                &s,
            ));
        }
    }
}
