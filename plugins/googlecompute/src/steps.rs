//! The build's steps, in Packer's order, with Packer's messages.
//!
//! Each step function prints its own lines; a failing step prints its error
//! in red (as Packer's steps do) and returns it. What was made is recorded in
//! [`Build`]'s state fields so that `cleanup` can remove it.

use crate::bodies;
use crate::compute::{ApiError, Client, paths};
use crate::config::{Settings, SourceImage};
use crate::leftovers::{self, Kind, delete_and_wait};
use crate::operations::Scope;
use crate::transport::HostTransport;
use packer_plugin_sdk::communicator::{self, KeyType, Machine};
use packer_plugin_sdk::{BuildContext, BuildError, ui};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// First interval of the "instance running" poll. It starts short (an
/// instance is often RUNNING right after its insert operation) and grows by a
/// fifth each time up to Packer's 2 s, so the build waits little longer than
/// the cloud takes (about 10 requests in the first second).
const RUNNING_POLL_FIRST: Duration = Duration::from_millis(50);
/// Longest interval of the "instance running" poll (Packer's).
const RUNNING_POLL: Duration = Duration::from_secs(2);

/// A build in progress: configuration, client and what exists so far.
pub struct Build {
    /// The validated configuration.
    pub settings: Settings,
    /// `-force`, `-on-error`, ...
    pub context: BuildContext,
    /// The Compute Engine client.
    pub client: Client<HostTransport>,
    /// The communicator options.
    pub comm: communicator::Settings,
    /// Contents of `metadata_files`, by metadata key.
    pub metadata_files: BTreeMap<String, String>,
    /// Contents of `startup_script_file`.
    pub startup_script: Option<String>,

    /// The target image existed before the build (only with `-force`).
    pub image_existed: bool,
    /// The temporary key pair.
    pub key_pair: Option<communicator::KeyPair>,
    /// The resolved source image's name.
    pub source_image_name: String,
    /// `instances.insert` was sent: the instance may exist.
    pub instance_may_exist: bool,
    /// The boot disk may exist.
    pub disk_may_exist: bool,
    /// `images.insert` was sent.
    pub image_sent: bool,
    /// The image was created and checked.
    pub image_done: bool,
    /// The instance's address.
    pub ip: String,
    /// Whether the build waits for the wrapped startup script.
    pub wait_startup_script: bool,
    /// `diskSizeGb` of the new image.
    pub image_size_gb: Option<i64>,
}

/// Converts an API error into the build's error, printing it in red first.
pub fn fail(prefix: &str, e: ApiError) -> BuildError {
    match e {
        ApiError::Cancelled => BuildError::Cancelled,
        e => fail_msg(format!("{prefix}{e}")),
    }
}

/// Prints `message` in red and makes it the build's error.
pub fn fail_msg(message: String) -> BuildError {
    ui::error(&message);
    BuildError::Failed(message)
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The first non-empty NAT IP (or internal IP) of an instance resource.
pub fn instance_ip(instance: &Value, internal: bool) -> String {
    let nics = instance
        .get("networkInterfaces")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for nic in &nics {
        if internal {
            let ip = str_of(nic, "networkIP");
            if !ip.is_empty() {
                return ip;
            }
        } else {
            for ac in nic
                .get("accessConfigs")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
            {
                let ip = str_of(&ac, "natIP");
                if !ip.is_empty() {
                    return ip;
                }
            }
        }
    }
    String::new()
}

/// The value of metadata key `key` in an instance resource.
pub fn instance_metadata_value(instance: &Value, key: &str) -> Option<String> {
    instance
        .get("metadata")?
        .get("items")?
        .as_array()?
        .iter()
        .find(|i| i.get("key").and_then(Value::as_str) == Some(key))
        .map(|i| str_of(i, "value"))
}

/// Formats a project list as Go prints a `[]string`.
pub fn go_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

impl Build {
    fn zone_scope(&self) -> Scope {
        Scope::Zone {
            project: self.settings.project_id.clone(),
            zone: self.settings.zone.clone(),
        }
    }

    fn global_scope(&self) -> Scope {
        Scope::Global {
            project: self.settings.image_project_id.clone(),
        }
    }

    /// StepCheckExistingImage.
    pub fn check_existing_image(&mut self) -> Result<(), BuildError> {
        ui::say("Checking image does not exist...");
        let s = &self.settings;
        let path = paths::image(&s.image_project_id, &s.image_name);
        match self.client.get(&path) {
            Ok(_) => {
                if !self.context.force {
                    return Err(fail_msg(format!(
                        "Image {} already exists in project {}.\nUse the force flag to delete it prior to building.",
                        self.settings.image_name, self.settings.image_project_id
                    )));
                }
                self.image_existed = true;
                Ok(())
            }
            // Packer treats any API error as "does not exist".
            Err(ApiError::Google(_)) => Ok(()),
            Err(e) => Err(fail("Error checking for an existing image: ", e)),
        }
    }

    /// StepSSHKeyGen: a temporary key pair kept by the host.
    pub fn create_ssh_key(&mut self) -> Result<(), BuildError> {
        if self.comm.ssh_public_key.is_some() {
            ui::say("Using existing SSH private key");
            return Ok(());
        }
        ui::say("Creating temporary SSH key for instance...");
        let (kind, bits) = match self
            .comm
            .temporary_key_pair_type
            .to_ascii_lowercase()
            .as_str()
        {
            "ed25519" => (KeyType::Ed25519, None),
            _ => (
                KeyType::Rsa,
                match self.comm.temporary_key_pair_bits {
                    0 => None,
                    b => Some(b),
                },
            ),
        };
        let comment = format!("packer_{}", crate::transport::uuid_v4());
        let key = communicator::generate_key_pair(kind, bits, &comment)
            .map_err(|e| fail_msg(format!("Error creating temporary SSH key: {e}")))?;
        self.key_pair = Some(key);
        Ok(())
    }

    /// Resolves the source image (name or family) over the project list.
    fn source_image(&mut self) -> Result<Value, BuildError> {
        let projects = self.settings.image_search_projects();
        let source = self.settings.source_image.clone();
        let mut errors = Vec::new();
        for project in &projects {
            let path = match &source {
                SourceImage::Name(n) => paths::image(project, n),
                SourceImage::Family(f) => paths::image_family(project, f),
            };
            match self.client.get(&path) {
                Ok(image) => return Ok(image),
                Err(ApiError::Google(g)) => errors.push(g.to_string()),
                Err(e) => {
                    return Err(fail(
                        "Error getting source image for instance creation: ",
                        e,
                    ));
                }
            }
        }
        Err(fail_msg(format!(
            "Error getting source image for instance creation: Could not find image, {}, in projects, {}: {}",
            source.value(),
            go_list(&projects),
            errors.join("; ")
        )))
    }

    /// StepCreateInstance.
    pub fn create_instance(&mut self) -> Result<(), BuildError> {
        let image = self.source_image()?;
        self.source_image_name = str_of(&image, "name");
        let image_link = str_of(&image, "selfLink");
        if self.settings.enable_secure_boot {
            let uefi = image
                .get("guestOsFeatures")
                .and_then(Value::as_array)
                .is_some_and(|f| {
                    f.iter()
                        .any(|x| x.get("type").and_then(Value::as_str) == Some("UEFI_COMPATIBLE"))
                });
            if !uefi {
                return Err(fail_msg(format!(
                    "Image: {} is not secure boot compatible. Please set 'enable_secure_boot' to false or choose another source image.",
                    self.source_image_name
                )));
            }
        }
        ui::say(&format!("Using image: {}", self.source_image_name));
        ui::say("Creating instance...");

        let metadata = bodies::instance_metadata(
            &self.settings,
            &self.comm.ssh_username,
            self.key_pair.as_ref().map(|k| k.public_key.as_str()),
            &self.metadata_files,
            self.startup_script.as_deref(),
        );
        self.wait_startup_script = bodies::waits_for_startup_script(&metadata);

        let s = self.settings.clone();
        ui::message(&format!("Loading zone: {}", s.zone));
        let zone = self
            .client
            .get(&paths::zone(&s.project_id, &s.zone))
            .map_err(|e| fail("Error creating instance: ", e))?;
        ui::message(&format!("Loading machine type: {}", s.machine_type));
        let machine_type = self
            .client
            .get(&paths::machine_type(
                &s.project_id,
                &s.zone,
                &s.machine_type,
            ))
            .map_err(|e| fail("Error creating instance: ", e))?;
        let mut machine_link = str_of(&machine_type, "selfLink");
        if machine_link.is_empty() {
            machine_link = format!("zones/{}/machineTypes/{}", s.zone, s.machine_type);
        }
        let mut nat_ip = None;
        if let Some(address) = &s.address {
            let zone_region = str_of(&zone, "region");
            let region = zone_region
                .rsplit('/')
                .next()
                .filter(|r| !r.is_empty())
                .unwrap_or(&s.region)
                .to_string();
            let addr = self
                .client
                .get(&paths::address(&s.project_id, &region, address))
                .map_err(|e| fail("Error creating instance: ", e))?;
            nat_ip = Some(str_of(&addr, "address"));
        }
        if s.shielded() {
            ui::message("Requesting Shielded VM instance creation...");
        } else {
            ui::message("Requesting instance creation...");
        }
        let body =
            bodies::instance_body(&s, &image_link, &machine_link, nat_ip.as_deref(), &metadata);
        // Recorded before the insert, durably: a crash from here on leaves
        // entries that `packer cleanup` deletes.
        leftovers::record(Kind::Instance, &s.instance_name, &s)?;
        leftovers::record(Kind::Disk, &s.disk_name, &s)?;
        // From here on the instance may exist, even if the answer is lost.
        self.instance_may_exist = true;
        self.disk_may_exist = true;
        let op = self
            .client
            .mutate(
                "POST",
                &paths::instances(&s.project_id, &s.zone),
                Some(&body),
            )
            .map_err(|e| fail("Error creating instance: ", e))?;
        ui::message("Waiting for creation operation to complete...");
        let scope = self.zone_scope();
        self.client
            .wait_operation(
                op,
                &scope,
                s.state_timeout,
                "time out while waiting for instance to create",
            )
            .map_err(|e| fail("Error creating instance: ", e))?;
        ui::message("Instance has been created!");
        if self.context.debug {
            ui::message(&format!(
                "Instance: {} started in {}",
                s.instance_name, s.zone
            ));
        }
        Ok(())
    }

    /// StepInstanceInfo: waits for RUNNING and finds the address.
    pub fn instance_info(&mut self) -> Result<(), BuildError> {
        ui::say("Waiting for the instance to become running...");
        let s = self.settings.clone();
        let path = paths::instance(&s.project_id, &s.zone, &s.instance_name);
        let deadline = self.client.now() + s.state_timeout;
        let mut interval = RUNNING_POLL_FIRST;
        let instance = loop {
            let instance = self
                .client
                .call_until(
                    "GET",
                    &path,
                    &[],
                    None,
                    deadline,
                    crate::compute::REQUEST_TIMEOUT,
                )
                .map_err(|e| fail("Error waiting for instance: ", e))?;
            match str_of(&instance, "status").as_str() {
                "RUNNING" => break instance,
                "TERMINATED" | "STOPPED" | "SUSPENDED" => {
                    return Err(fail_msg(format!(
                        "Error waiting for instance: instance {} is {}",
                        s.instance_name,
                        str_of(&instance, "status")
                    )));
                }
                _ => {}
            }
            if self.client.now() + interval > deadline {
                return Err(fail_msg(
                    "Error waiting for instance: time out while waiting for instance to become running"
                        .to_string(),
                ));
            }
            self.client
                .pause(interval)
                .map_err(|e| fail("Error waiting for instance: ", e))?;
            interval = (interval * 6 / 5).min(RUNNING_POLL);
        };
        self.ip = instance_ip(&instance, s.use_internal_ip);
        if self.context.debug {
            if s.use_internal_ip {
                ui::message(&format!("Internal IP: {}", self.ip));
            } else {
                ui::message(&format!("Public IP: {}", self.ip));
            }
        }
        ui::message(&format!("IP: {}", self.ip));
        Ok(())
    }

    /// The generated data provisioners see (``{{ build `ID` }}``...).
    pub fn generated_data(&self) -> Vec<(String, String)> {
        vec![
            ("ID".to_string(), self.settings.instance_name.clone()),
            (
                "SourceImageName".to_string(),
                self.source_image_name.clone(),
            ),
        ]
    }

    /// StepConnect + StepProvision, done by the host.
    pub fn provision(&mut self) -> Result<(), BuildError> {
        if self.comm.is_none() {
            communicator::provision(None)?;
        } else {
            let machine = Machine {
                host: self.ip.clone(),
                port: None,
                key_pair: self.key_pair.as_ref().map(|k| k.handle),
                generated_data: self.generated_data(),
            };
            communicator::provision(Some(&machine))?;
        }
        self.client
            .check_cancelled()
            .map_err(|_| BuildError::Cancelled)
    }

    /// StepWaitStartupScript: waits for `startup-script-status` = `done`.
    pub fn wait_for_startup_script(&mut self) -> Result<(), BuildError> {
        if !self.wait_startup_script {
            return Ok(());
        }
        ui::say("Waiting for any running startup script to finish...");
        let s = self.settings.clone();
        let path = paths::instance(&s.project_id, &s.zone, &s.instance_name);
        let mut delay = Duration::from_secs(10);
        loop {
            match self.client.get(&path) {
                Err(ApiError::Cancelled) => return Err(BuildError::Cancelled),
                Err(_) => ui::message(&format!(
                    "Metadata {} on instance {} not available. Waiting...",
                    bodies::STARTUP_SCRIPT_STATUS_KEY,
                    s.instance_name
                )),
                Ok(instance) => {
                    match instance_metadata_value(&instance, bodies::STARTUP_SCRIPT_STATUS_KEY)
                        .as_deref()
                    {
                        Some("error") => {
                            ui::message("Startup script in error. Exiting...");
                            return Err(fail_msg(
                                "Error waiting for startup script to finish: Startup script exited with error."
                                    .to_string(),
                            ));
                        }
                        Some("done") => {
                            ui::message("Startup script successfully finished.");
                            break;
                        }
                        Some(_) => ui::message("Startup script not finished yet. Waiting..."),
                        None => ui::message(&format!(
                            "Metadata {} on instance {} not available. Waiting...",
                            bodies::STARTUP_SCRIPT_STATUS_KEY,
                            s.instance_name
                        )),
                    }
                }
            }
            self.client
                .pause(delay)
                .map_err(|_| BuildError::Cancelled)?;
            delay = (delay * 2).min(Duration::from_secs(60));
        }
        ui::say("Startup script, if any, has finished running.");
        Ok(())
    }

    /// StepTeardownInstance: deletes the instance, keeping its disk.
    pub fn teardown_instance(&mut self) -> Result<(), BuildError> {
        ui::say("Deleting instance...");
        let s = self.settings.clone();
        let result = self.delete_instance();
        if let Err(e) = result {
            if e == ApiError::Cancelled {
                return Err(BuildError::Cancelled);
            }
            return Err(fail_msg(format!(
                "Error deleting instance. Please delete it manually.\n\nName: {}\nError: {e}",
                s.instance_name
            )));
        }
        ui::message("Instance has been deleted!");
        Ok(())
    }

    /// Deletes the instance and waits; a 404 counts as deleted.
    pub fn delete_instance(&mut self) -> Result<(), ApiError> {
        let s = self.settings.clone();
        let path = paths::instance(&s.project_id, &s.zone, &s.instance_name);
        let scope = self.zone_scope();
        delete_and_wait(
            &mut self.client,
            &path,
            &scope,
            s.state_timeout,
            "time out while waiting for instance to delete",
            false,
        )?;
        self.instance_may_exist = false;
        leftovers::forget(Kind::Instance, &s.instance_name);
        Ok(())
    }

    /// Deletes the boot disk and waits; a 404 counts as deleted. A disk still
    /// held by an image being created from it (after Ctrl-C during
    /// `Creating image...`, packer#6887) is deleted once the image lets go;
    /// one still attached to an instance that could not be deleted is not
    /// waited for.
    pub fn delete_disk(&mut self) -> Result<(), ApiError> {
        let s = self.settings.clone();
        let path = paths::disk(&s.project_id, &s.zone, &s.disk_name);
        let scope = self.zone_scope();
        let instance_gone = !self.instance_may_exist;
        delete_and_wait(
            &mut self.client,
            &path,
            &scope,
            s.state_timeout,
            "time out while waiting for disk to delete",
            instance_gone,
        )?;
        self.disk_may_exist = false;
        leftovers::forget(Kind::Disk, &s.disk_name);
        Ok(())
    }

    /// Deletes the target image and waits; a 404 counts as deleted.
    pub fn delete_image(&mut self) -> Result<(), ApiError> {
        let s = self.settings.clone();
        let path = paths::image(&s.image_project_id, &s.image_name);
        let scope = self.global_scope();
        delete_and_wait(
            &mut self.client,
            &path,
            &scope,
            s.state_timeout,
            "time out while waiting for image to delete",
            false,
        )?;
        leftovers::forget(Kind::Image, &s.image_name);
        Ok(())
    }

    /// StepCreateImage.
    pub fn create_image(&mut self) -> Result<(), BuildError> {
        let s = self.settings.clone();
        if s.skip_create_image {
            ui::say("Skipping image creation...");
            return Ok(());
        }
        if self.context.force && self.image_existed {
            ui::say("Deleting previous image...");
            self.delete_image()
                .map_err(|e| fail("Error deleting image: ", e))?;
        }
        ui::say("Creating image...");
        let source_disk = bodies::source_disk_url(&self.client.base, &s);
        let body = bodies::image_body(&s, &source_disk);
        leftovers::record(Kind::Image, &s.image_name, &s)?;
        self.image_sent = true;
        let op = self
            .client
            .mutate("POST", &paths::images(&s.image_project_id), Some(&body))
            .map_err(|e| fail("Error waiting for image: ", e))?;
        let scope = self.global_scope();
        self.client
            .wait_operation(
                op,
                &scope,
                s.state_timeout,
                "time out while waiting for image to register",
            )
            .map_err(|e| fail("Error waiting for image: ", e))?;
        let image = self
            .client
            .get(&paths::image(&s.image_project_id, &s.image_name))
            .map_err(|e| fail("Error waiting for image: ", e))?;
        self.image_size_gb = match image.get("diskSizeGb") {
            Some(Value::String(v)) => v.parse().ok(),
            Some(Value::Number(n)) => n.as_i64(),
            _ => None,
        };
        self.image_done = true;
        Ok(())
    }
}
