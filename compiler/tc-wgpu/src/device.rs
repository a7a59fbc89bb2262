//! The GPU: adapter selection, the device and queue, and the transfer counters.
//!
//! One [`Gpu`] per process, opened on first use by [`gpu`] and shared by every program
//! and device tensor. Selection is headless (no surface): `TENSORC_WGPU_ADAPTER` picks
//! an adapter by index or by a case-insensitive part of its name (`tensorc` lists them
//! in the error when nothing matches); otherwise a discrete GPU is preferred over an
//! integrated one, then a virtual one, then a software one (Mesa's llvmpipe). The device
//! is opened with the adapter's own limits, so big buffers and many bindings work where
//! the hardware allows them.

use crate::wgsl::Features;
use crate::WgpuError;
use std::sync::{Arc, Mutex, OnceLock};

/// The environment variable that chooses the adapter.
pub const ADAPTER_ENV: &str = "TENSORC_WGPU_ADAPTER";

/// An open device and what the backend needs to know about it.
pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    pub features: Features,
    /// One `u32` 0 that shaders read as a zero their compiler cannot fold
    /// (`crate::wgsl::ShaderKernel::zero_word`); buffers start zeroed.
    pub zero_word: wgpu::Buffer,
    /// Validation errors wgpu reports outside an error scope (kept instead of panicking).
    uncaptured: Arc<Mutex<Vec<String>>>,
    /// Error scopes form one stack per device: threads take turns to push and pop.
    scopes: Mutex<()>,
}

/// Bytes moved between host and device (see [`thread_transfers`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Transfers {
    pub h2d_bytes: u64,
    pub d2h_bytes: u64,
}

impl Transfers {
    /// The bytes moved between `earlier` and `self`.
    pub fn since(self, earlier: Transfers) -> Transfers {
        Transfers { h2d_bytes: self.h2d_bytes - earlier.h2d_bytes, d2h_bytes: self.d2h_bytes - earlier.d2h_bytes }
    }
}

thread_local! {
    static THREAD_TRANSFERS: std::cell::Cell<Transfers> = const { std::cell::Cell::new(Transfers { h2d_bytes: 0, d2h_bytes: 0 }) };
}

/// Count `up` bytes uploaded and `down` bytes read back by this thread.
pub(crate) fn count_transfer(up: usize, down: usize) {
    THREAD_TRANSFERS.with(|t| {
        let was = t.get();
        t.set(Transfers { h2d_bytes: was.h2d_bytes + up as u64, d2h_bytes: was.d2h_bytes + down as u64 });
    });
}

/// Bytes this thread has moved to and from any GPU: what one caller's loop moves,
/// whatever other threads do with the same device.
pub fn thread_transfers() -> Transfers {
    THREAD_TRANSFERS.with(|t| t.get())
}

impl Gpu {
    /// A one-line description: adapter name, backend and device type.
    pub fn describe(&self) -> String {
        format!("{} ({:?}, {:?})", self.info.name, self.info.backend, self.info.device_type)
    }

    /// Run `f` inside a validation error scope; an error wgpu reports becomes `Err`.
    pub(crate) fn checked<T>(&self, what: &str, f: impl FnOnce() -> T) -> Result<T, WgpuError> {
        let turn = self.scopes.lock().unwrap_or_else(|p| p.into_inner());
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let value = f();
        let out_of_memory = pollster::block_on(oom.pop());
        let invalid = pollster::block_on(scope.pop());
        drop(turn);
        if let Some(e) = out_of_memory {
            return Err(WgpuError::Device(format!("{what}: out of device memory: {e}")));
        }
        if let Some(e) = invalid {
            return Err(WgpuError::Device(format!("{what}: {e}")));
        }
        self.take_uncaptured(what)?;
        Ok(value)
    }

    /// Wait until the device has finished all submitted work (for timing).
    pub fn synchronize(&self) -> Result<(), WgpuError> {
        self.wait("waiting for the device")
    }

    /// Wait for all submitted work; a device loss or an error reported meanwhile is `Err`.
    pub(crate) fn wait(&self, what: &str) -> Result<(), WgpuError> {
        self.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| WgpuError::Device(format!("{what}: {e}")))?;
        self.take_uncaptured(what)
    }

    fn take_uncaptured(&self, what: &str) -> Result<(), WgpuError> {
        let mut errors = self.uncaptured.lock().unwrap_or_else(|e| e.into_inner());
        if errors.is_empty() {
            return Ok(());
        }
        let message = errors.join("; ");
        errors.clear();
        Err(WgpuError::Device(format!("{what}: {message}")))
    }
}

/// The variable Mesa's Vulkan drivers read (through libwayland) when the instance is
/// created.
const RUNTIME_DIR_ENV: &str = "XDG_RUNTIME_DIR";

/// Point `XDG_RUNTIME_DIR` at a private directory (created with mode 0700, as the XDG
/// base directory spec asks) when it is unset or not an absolute path. Mesa's drivers
/// otherwise print `error: XDG_RUNTIME_DIR is invalid or not set in the environment.`
/// twice per process while looking for a Wayland compositor, which headless compute
/// never needs: an error message where there is no error.
///
/// Call it first thing in `main`, before any thread starts: changing the environment
/// while another thread reads it is a data race in C's `getenv`. Does nothing when the
/// variable is already usable or no directory can be made.
pub fn set_runtime_dir_if_unset() {
    let usable = std::env::var_os(RUNTIME_DIR_ENV).is_some_and(|d| std::path::Path::new(&d).is_absolute());
    if usable {
        return;
    }
    if let Some(dir) = private_runtime_dir() {
        std::env::set_var(RUNTIME_DIR_ENV, dir);
    }
}

/// `$TMPDIR/tensorc-runtime-UID`, created 0700 if missing; `None` unless it is a
/// directory owned by this user that no one else may enter.
#[cfg(unix)]
fn private_runtime_dir() -> Option<std::path::PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let dir = std::env::temp_dir().join(format!("tensorc-runtime-{uid}"));
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    let meta = std::fs::symlink_metadata(&dir).ok()?;
    (meta.is_dir() && meta.uid() == uid && meta.mode() & 0o077 == 0).then_some(dir)
}

#[cfg(not(unix))]
fn private_runtime_dir() -> Option<std::path::PathBuf> {
    None
}

/// The process's GPU, opened on first use. Every later call returns the same device or
/// the same error.
pub fn gpu() -> Result<Arc<Gpu>, WgpuError> {
    static GPU: OnceLock<Result<Arc<Gpu>, WgpuError>> = OnceLock::new();
    GPU.get_or_init(|| open(std::env::var(ADAPTER_ENV).ok().as_deref()).map(Arc::new)).clone()
}

fn instance() -> wgpu::Instance {
    let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
    descriptor.backends = wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12;
    wgpu::Instance::new(descriptor)
}

/// Every adapter that can run compute shaders, in enumeration order.
pub fn adapters() -> Vec<wgpu::AdapterInfo> {
    compute_adapters(&instance()).into_iter().map(|a| a.get_info()).collect()
}

fn compute_adapters(instance: &wgpu::Instance) -> Vec<wgpu::Adapter> {
    let all = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12));
    all.into_iter().filter(|a| a.get_downlevel_capabilities().flags.contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)).collect()
}

/// Preference among device types when no adapter is named: lower is better.
fn rank(kind: wgpu::DeviceType) -> u8 {
    match kind {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

/// The adapter that `choice` (the value of [`ADAPTER_ENV`]) names: an index into the
/// list, or a case-insensitive part of a name; with no choice, the best device type.
fn select(mut found: Vec<wgpu::Adapter>, choice: Option<&str>) -> Result<wgpu::Adapter, WgpuError> {
    if found.is_empty() {
        return Err(WgpuError::NoAdapter);
    }
    let listing = || found.iter().enumerate().map(|(i, a)| format!("{i}: {}", a.get_info().name)).collect::<Vec<_>>().join(", ");
    let index = match choice.map(str::trim).filter(|c| !c.is_empty()) {
        None => (0..found.len()).min_by_key(|&i| rank(found[i].get_info().device_type)).unwrap_or(0),
        Some(c) => match c.parse::<usize>() {
            Ok(i) if i < found.len() => i,
            _ => {
                let needle = c.to_lowercase();
                found.iter().position(|a| a.get_info().name.to_lowercase().contains(&needle)).ok_or_else(|| WgpuError::AdapterNotFound { choice: c.to_string(), available: listing() })?
            }
        },
    };
    Ok(found.swap_remove(index))
}

/// Open a new device on the adapter `choice` names (as [`ADAPTER_ENV`] would), or the
/// best one. Most callers want the shared [`gpu`].
pub fn open(choice: Option<&str>) -> Result<Gpu, WgpuError> {
    let instance = instance();
    let adapter = select(compute_adapters(&instance), choice)?;
    let info = adapter.get_info();
    let limits = adapter.limits();
    let shader_f16 = adapter.features().contains(wgpu::Features::SHADER_F16);
    let required_features = if shader_f16 { wgpu::Features::SHADER_F16 } else { wgpu::Features::empty() };
    let descriptor = wgpu::DeviceDescriptor { label: Some("tensorc"), required_features, required_limits: limits.clone(), ..Default::default() };
    let (device, queue) = pollster::block_on(adapter.request_device(&descriptor)).map_err(|e| WgpuError::Device(format!("opening {}: {e}", info.name)))?;
    let zero_word = device.create_buffer(&wgpu::BufferDescriptor { label: Some("zero word"), size: 4, usage: wgpu::BufferUsages::STORAGE, mapped_at_creation: false });
    let uncaptured = Arc::new(Mutex::new(Vec::new()));
    let sink = uncaptured.clone();
    device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| sink.lock().unwrap_or_else(|p| p.into_inner()).push(e.to_string())));
    Ok(Gpu { device, queue, info, limits, features: Features { shader_f16 }, zero_word, uncaptured, scopes: Mutex::new(()) })
}
