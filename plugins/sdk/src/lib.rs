//! The Rust SDK for Packer builder plugins.
//!
//! A builder is a plain Rust type that implements [`Builder`]; the
//! [`export_builder!`] macro turns it into a WebAssembly component that
//! implements the `packer:plugin` WIT contract (`wit/builder.wit`):
//!
//! ```ignore
//! use packer_plugin_sdk::{Artifact, BuildContext, BuildError, Builder, Diagnostics, ui};
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct Config { greeting: Option<String> }
//!
//! #[derive(Default)]
//! struct Hello { config: Option<Config> }
//!
//! impl Builder for Hello {
//!     type Config = Config;
//!     const NAME: &'static str = "hello";
//!     const VERSION: &'static str = "0.1.0";
//!     fn prepare(&mut self, _ctx: &BuildContext, config: Config) -> Diagnostics {
//!         self.config = Some(config);
//!         Diagnostics::default()
//!     }
//!     fn run(&mut self) -> Result<Artifact, BuildError> {
//!         ui::say("Saying hello...");
//!         Ok(Artifact::new("example.hello", "Hello", "Said hello"))
//!     }
//! }
//! packer_plugin_sdk::export_builder!(Hello);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2` and drop the
//! `.wasm` file into the plugin directory (`PACKER_PLUGIN_PATH`).
//!
//! A builder that creates cloud resources records each one in the cleanup
//! journal ([`journal::add`]) before creating it and forgets it
//! ([`journal::remove`]) once deleted or handed over; `packer cleanup` calls
//! [`Builder::delete_leftovers`] for whatever a crashed build left.

pub mod artifact;
pub mod builder;
pub mod cancellation;
pub mod communicator;
pub mod config;
pub mod env;
pub mod files;
pub mod http;
pub mod journal;
pub mod ui;

/// Bindings generated from `wit/builder.wit`. Plugins rarely need these directly.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "plugin",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "__export_plugin",
        default_bindings_module: "packer_plugin_sdk::bindings",
    });
}

pub use artifact::Artifact;
pub use builder::{BuildContext, BuildError, Builder, Capability, Diagnostics};
pub use config::decode_config;

// Re-exported so that `export_builder!` works without the plugin depending on them.
#[doc(hidden)]
pub use schemars;
#[doc(hidden)]
pub use serde_json;
