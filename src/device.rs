//! Picking the libtorch device (`auto`, `cpu`, `cuda`, `cuda:N`) and making CUDA visible.

use anyhow::{bail, Result};
use tch::Device;

/// What the user asked for, before looking at the hardware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    Auto,
    Cpu,
    Cuda(usize),
}

pub fn parse(text: &str) -> Result<DeviceChoice> {
    let t = text.trim().to_ascii_lowercase();
    match t.as_str() {
        "auto" => Ok(DeviceChoice::Auto),
        "cpu" => Ok(DeviceChoice::Cpu),
        "cuda" | "gpu" => Ok(DeviceChoice::Cuda(0)),
        _ => match t.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(n)) => Ok(DeviceChoice::Cuda(n)),
            _ => bail!("bad value for train.device: `{text}`; allowed: auto, cpu, cuda, cuda:N"),
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
        Device::Cpu => format!("cpu ({} threads)", tch::get_num_threads()),
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
