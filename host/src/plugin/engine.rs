//! The process's one wasmtime engine, its linker, and loading of components.
//!
//! Components are compiled once per (plugin bytes, engine) and kept in the
//! on-disk [`CodeCache`]; within a process each is loaded once and
//! instantiated per build from a pre-linked [`PluginPre`].

use super::bindings::{Plugin, PluginPre};
use super::cache::CodeCache;
use super::catalog::PluginSource;
use super::error::PluginError;
use super::limits::{EPOCH_TICK, Limits};
use super::state::HostState;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine};

/// Compiles, caches and instantiates plugins.
pub struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    cache: Option<CodeCache>,
    limits: Limits,
    loaded: Mutex<HashMap<String, PluginPre<HostState>>>,
}

impl Runtime {
    /// A runtime with the given limits; `cache` keeps compiled code between runs.
    pub fn new(limits: Limits, cache: Option<CodeCache>) -> Result<Self, PluginError> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.parallel_compilation(true);
        config.strategy(limits.compiler.strategy());
        let engine = Engine::new(&config).map_err(|e| PluginError::Runtime(e.to_string()))?;
        spawn_epoch_ticker(&engine);

        let mut linker: Linker<HostState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| PluginError::Runtime(e.to_string()))?;
        Plugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)
            .map_err(|e| PluginError::Runtime(e.to_string()))?;
        Ok(Self {
            engine,
            linker,
            cache,
            limits,
            loaded: Mutex::new(HashMap::new()),
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The limits every store gets.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Loads (compiling or reading the cache) and links a plugin, once per process.
    pub fn load(&self, source: &PluginSource) -> Result<PluginPre<HostState>, PluginError> {
        let key = source.key();
        if let Some(pre) = self.lock_loaded().get(&key) {
            return Ok(pre.clone());
        }
        let bytes = source.bytes()?;
        let component = self.compile(source.name(), &bytes)?;
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| invalid(source.name(), e))?;
        let pre = PluginPre::new(instance_pre).map_err(|e| invalid(source.name(), e))?;
        self.lock_loaded().insert(key, pre.clone());
        Ok(pre)
    }

    fn lock_loaded(&self) -> std::sync::MutexGuard<'_, HashMap<String, PluginPre<HostState>>> {
        match self.loaded.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn compile(&self, name: &str, bytes: &[u8]) -> Result<Component, PluginError> {
        if let Some(cache) = &self.cache
            && let Some(component) = cache.load(&self.engine, bytes)
        {
            log::debug!("plugin {name}: compiled code loaded from the cache");
            return Ok(component);
        }
        let started = std::time::Instant::now();
        let compiled = self
            .engine
            .precompile_component(bytes)
            .map_err(|e| invalid(name, e))?;
        log::debug!(
            "plugin {name}: compiled {} KiB in {:?}",
            bytes.len() / 1024,
            started.elapsed()
        );
        if let Some(cache) = &self.cache {
            // A cache that cannot be written only costs speed.
            let _ = cache.store(&self.engine, bytes, &compiled);
        }
        // SAFETY: `compiled` was produced just now by this engine.
        unsafe { Component::deserialize(&self.engine, &compiled) }.map_err(|e| invalid(name, e))
    }
}

fn invalid(name: &str, error: wasmtime::Error) -> PluginError {
    PluginError::Invalid {
        plugin: name.to_string(),
        cause: format!("{error:#}"),
    }
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is dropped.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("packer-epoch".to_string())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .ok();
}

/// The runtime, shared between builds.
pub type SharedRuntime = Arc<Runtime>;
