//! Picking the libtorch device (`auto`, `cpu`, `cuda`, `cuda:N`) and making CUDA visible.

use anyhow::{bail, Result};
use tch::Device;

use crate::ffi::{
    bertwork_cpu_autocast, bertwork_cuda_precision, bertwork_device_memory, bertwork_quiet_warnings,
};

/// What the user asked for (`train.device`), before looking at the hardware. In a
/// config it is the text `auto`, `cpu`, `cuda` or `cuda:N` ([`parse`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    Auto,
    Cpu,
    Cuda(usize),
}

impl std::str::FromStr for DeviceChoice {
    type Err = anyhow::Error;
    fn from_str(text: &str) -> Result<Self> {
        parse(text)
    }
}

impl std::fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceChoice::Auto => f.write_str("auto"),
            DeviceChoice::Cpu => f.write_str("cpu"),
            DeviceChoice::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

impl serde::Serialize for DeviceChoice {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for DeviceChoice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        // The config names the key; the message adds the value and what is allowed.
        parse(&text)
            .map_err(|_| serde::de::Error::custom(format!("`{text}`; allowed: {ALLOWED_DEVICES}")))
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Precision::Auto => "auto",
            Precision::Fp32 => "fp32",
            Precision::Bf16 => "bf16",
        })
    }
}

/// The precision of the training step's matmuls (`train.precision`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// bf16 autocast + TF32 on CUDA; bf16 autocast on CPUs with AMX or AVX512-BF16
    /// ([`cpu_bf16_units`]), fp32 on other CPUs.
    Auto,
    /// Everything in fp32.
    Fp32,
    /// bf16 autocast (with TF32 on CUDA) whatever the hardware.
    Bf16,
}

/// What `train.device` may be.
const ALLOWED_DEVICES: &str = "auto, cpu, cuda, cuda:N";

/// Reads `train.device` (case-insensitive; `gpu` is `cuda`).
///
/// Errors: anything else, naming the key and what is allowed.
pub fn parse(text: &str) -> Result<DeviceChoice> {
    let t = text.trim().to_ascii_lowercase();
    match t.as_str() {
        "auto" => Ok(DeviceChoice::Auto),
        "cpu" => Ok(DeviceChoice::Cpu),
        "cuda" | "gpu" => Ok(DeviceChoice::Cuda(0)),
        _ => match t.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(n)) => Ok(DeviceChoice::Cuda(n)),
            _ => bail!("bad value for train.device: `{text}`; allowed: {ALLOWED_DEVICES}"),
        },
    }
}

/// Resolves a choice against the hardware; `auto` means CUDA when available.
pub fn resolve(choice: DeviceChoice) -> Result<Device> {
    load_cuda();
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Auto => Ok(Device::cuda_if_available()),
        DeviceChoice::Cuda(n) => {
            let count = tch::Cuda::device_count() as usize;
            if count == 0 {
                bail!("train.device is cuda but no CUDA device is available; use --set train.device=cpu");
            }
            if n >= count {
                bail!(
                    "train.device is cuda:{n} but only {count} CUDA device(s) exist (0..{})",
                    count - 1
                );
            }
            Ok(Device::Cuda(n))
        }
    }
}

pub fn describe(device: Device) -> String {
    match device {
        Device::Cpu => match tch::get_num_threads() {
            1 => "cpu (1 thread)".to_string(),
            n => format!("cpu ({n} threads)"),
        },
        Device::Cuda(n) => format!("cuda:{n}"),
        other => format!("{other:?}"),
    }
}

/// rustc links with `--as-needed`, which drops `libtorch_cuda.so`, so libtorch never
/// sees CUDA. Loading it by hand before the first CUDA query fixes that; on a CPU-only
/// install the load fails quietly and everything runs on the CPU.
pub fn load_cuda() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let Some(dir) = libtorch_lib_dir() else {
            return;
        };
        let path = dir.join("libtorch_cuda.so");
        if !path.exists() {
            return;
        }
        let Ok(c_path) = std::ffi::CString::new(path.to_string_lossy().as_bytes()) else {
            return;
        };
        // SAFETY: dlopen with a valid NUL-terminated path; the handle is kept for the
        // life of the process on purpose (the library must stay loaded).
        unsafe {
            libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL);
        }
    });
}

/// libtorch's lib folder: `$BERTWORK_LIBTORCH_LIB` at run time (to point a carried
/// binary at another machine's torch), else the folder the binary was linked against.
fn libtorch_lib_dir() -> Option<std::path::PathBuf> {
    if let Some(dir) = std::env::var_os("BERTWORK_LIBTORCH_LIB") {
        return Some(dir.into());
    }
    option_env!("BERTWORK_LIBTORCH_LIB").map(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_device_names() {
        assert_eq!(parse("auto").unwrap(), DeviceChoice::Auto);
        assert_eq!(parse("CPU").unwrap(), DeviceChoice::Cpu);
        assert_eq!(parse("cuda").unwrap(), DeviceChoice::Cuda(0));
        assert_eq!(parse("cuda:3").unwrap(), DeviceChoice::Cuda(3));
        let err = parse("tpu").unwrap_err().to_string();
        assert!(
            err.contains("train.device") && err.contains("cuda:N"),
            "{err}"
        );
        assert!(parse("cuda:x").is_err());
    }
}

/// GPU memory as the caching allocator and the device see it, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DeviceMemory {
    pub allocated: u64,
    pub allocated_peak: u64,
    pub reserved: u64,
    pub reserved_peak: u64,
    /// Device-wide, all processes (what nvidia-smi shows): total - free.
    pub device_used: u64,
    pub device_total: u64,
}

/// Drops libtorch's warnings on the calling thread (they are written raw on stderr,
/// onto the workbench's screen) unless `TORCH_CPP_LOG_LEVEL` is set. libtorch keeps
/// the handler per thread: every thread that runs libtorch calls this first.
pub fn quiet_libtorch_warnings() {
    // SAFETY: installs a handler object with static lifetime; no arguments.
    unsafe { bertwork_quiet_warnings() }
}

/// Where the forward pass runs under bf16 autocast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Autocast {
    /// Everything in fp32.
    Off,
    /// CUDA autocast to bf16 (and TF32 for the fp32 matmuls left).
    Cuda,
    /// CPU autocast to bf16: matmuls in bf16 with fp32 accumulation (oneDNN; fast on
    /// CPUs with AVX512-BF16 or AMX), LayerNorm, softmax and the losses in fp32.
    CpuBf16,
}

impl Autocast {
    /// How the status bar, the headless header and the `started` event name it.
    pub fn describe(self) -> &'static str {
        match self {
            Autocast::Off => "fp32",
            Autocast::Cuda => "bf16 autocast + TF32",
            Autocast::CpuBf16 => "bf16 autocast",
        }
    }
}

/// The CPU's bf16 matrix units, from the kernel's CPU flags: `"AMX"` (`amx_bf16`) or
/// `"AVX512-BF16"` (`avx512_bf16`), None without either (or off Linux). Read by hand
/// because std's detection of AMX is not stable yet and the kernel's flags also say
/// whether it enabled the unit.
pub fn cpu_bf16_units() -> Option<&'static str> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let flags = info
        .lines()
        .find(|l| l.starts_with("flags"))?
        .split_whitespace()
        .collect::<Vec<_>>();
    if flags.contains(&"amx_bf16") {
        Some("AMX")
    } else if flags.contains(&"avx512_bf16") {
        Some("AVX512-BF16")
    } else {
        None
    }
}

/// The autocast mode `train.precision` asks for on `device`: on CUDA, `auto` and
/// `bf16` mean bf16 autocast plus TF32 (set here); on CPU `bf16` means bf16 autocast,
/// and `auto` does too where the CPU has bf16 units ([`cpu_bf16_units`]: there bf16
/// trains 1.4-1.7x faster with the same learning, docs/measurements.md), fp32 elsewhere.
pub fn setup_precision(device: Device, precision: Precision) -> Autocast {
    if !device.is_cuda() {
        let bf16 = match precision {
            Precision::Bf16 => true,
            Precision::Auto => cpu_bf16_units().is_some(),
            Precision::Fp32 => false,
        };
        return if bf16 {
            Autocast::CpuBf16
        } else {
            Autocast::Off
        };
    }
    let mixed = precision != Precision::Fp32;
    // SAFETY: plain flags; the shim catches C++ exceptions.
    let rc = unsafe { bertwork_cuda_precision(i32::from(mixed), i32::from(mixed)) };
    if mixed && rc == 0 {
        Autocast::Cuda
    } else {
        Autocast::Off
    }
}

/// Runs `f` under the autocast `mode` chose.
pub fn autocast<T>(mode: Autocast, f: impl FnOnce() -> T) -> T {
    match mode {
        Autocast::Off => f(),
        Autocast::Cuda => tch::autocast(true, f),
        Autocast::CpuBf16 => {
            /// Turns CPU autocast off again when dropped, also on unwinding.
            struct Guard;
            impl Drop for Guard {
                fn drop(&mut self) {
                    // SAFETY: plain flag; the shim catches C++ exceptions.
                    unsafe { bertwork_cpu_autocast(0) };
                }
            }
            // SAFETY: plain flag; the shim catches C++ exceptions.
            unsafe { bertwork_cpu_autocast(1) };
            let _guard = Guard;
            f()
        }
    }
}

/// The allocator's and the device's memory figures; `None` on CPU.
pub fn memory(device: Device) -> Option<DeviceMemory> {
    let Device::Cuda(index) = device else {
        return None;
    };
    let mut out = [0i64; 6];
    // SAFETY: the shim writes exactly six values into `out` and catches C++ exceptions.
    let rc = unsafe { bertwork_device_memory(index as i32, out.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    let u = |v: i64| v.max(0) as u64;
    Some(DeviceMemory {
        allocated: u(out[0]),
        allocated_peak: u(out[1]),
        reserved: u(out[2]),
        reserved_peak: u(out[3]),
        device_used: u(out[5] - out[4]),
        device_total: u(out[5]),
    })
}

/// One line for a dashboard.
pub fn format_memory(m: &DeviceMemory) -> String {
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    format!(
        "GPU alloc {:.2} GiB (peak {:.2}) reserved {:.2} · device {:.1}/{:.1} GiB",
        m.allocated as f64 / GIB,
        m.allocated_peak as f64 / GIB,
        m.reserved as f64 / GIB,
        m.device_used as f64 / GIB,
        m.device_total as f64 / GIB
    )
}

/// Resident memory of this process (the trainer included), from /proc.
pub fn rss_line() -> String {
    let rss = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map(|pages| pages * 4096);
    match rss {
        Some(b) => format!("RSS {:.0} MiB", b as f64 / (1024.0 * 1024.0)),
        None => String::new(),
    }
}

#[cfg(test)]
mod memory_tests {
    use super::*;

    #[test]
    fn memory_is_none_on_cpu_and_the_shim_fails_softly_without_a_gpu() {
        assert_eq!(memory(Device::Cpu), None);
        if !tch::Cuda::is_available() {
            assert_eq!(memory(Device::Cuda(0)), None);
        }
        assert!(rss_line().starts_with("RSS "));
        let m = DeviceMemory {
            allocated: 3 << 30,
            allocated_peak: 4 << 30,
            reserved: 5 << 30,
            reserved_peak: 5 << 30,
            device_used: 6 << 30,
            device_total: 80 << 30,
        };
        assert_eq!(
            format_memory(&m),
            "GPU alloc 3.00 GiB (peak 4.00) reserved 5.00 · device 6.0/80.0 GiB"
        );
    }
}
