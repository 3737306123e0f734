//! Embeds libtorch's library folder as an rpath so that the binary, tests and
//! examples start without LD_LIBRARY_PATH, and compiles the small C++ shims for what
//! tch does not expose: GPU allocator statistics and CUDA precision
//! (`csrc/device_shim.cpp`), and libtorch's multi-tensor AdamW, norm and scaling
//! kernels (`csrc/optimizer_shim.cpp`), and its profiler
//! (`csrc/profiler_shim.cpp`), and torch.distributed's c10d with the Gloo backend
//! (`csrc/distributed_shim.cpp`, compiled against the Gloo headers `make setup`
//! unpacks into `.gloo-include`, since the torch wheel lacks them). torch-sys
//! publishes the library folder through its `links = "tch"` metadata as
//! DEP_TCH_LIBTORCH_LIB.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    println!("cargo:rerun-if-changed=csrc/device_shim.cpp");
    println!("cargo:rerun-if-changed=csrc/optimizer_shim.cpp");
    println!("cargo:rerun-if-changed=csrc/profiler_shim.cpp");
    println!("cargo:rerun-if-changed=csrc/bertwork_shim.h");
    println!("cargo:rerun-if-changed=csrc/distributed_shim.cpp");
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        return;
    };
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    println!("cargo:rustc-env=BERTWORK_LIBTORCH_LIB={lib}");
    let include = std::path::Path::new(&lib).join("../include");
    cc::Build::new()
        .cpp(true)
        .file("csrc/device_shim.cpp")
        .file("csrc/optimizer_shim.cpp")
        .file("csrc/profiler_shim.cpp")
        .include(&include)
        .include(include.join("torch/csrc/api/include"))
        .flag("-std=c++17")
        .define("_GLIBCXX_USE_CXX11_ABI", "1")
        .warnings(false)
        .compile("bertwork_device_shim");
    let gloo = std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default())
        .join(".gloo-include");
    if !gloo.join("gloo/config.h").exists() {
        panic!(
            "Gloo's headers are missing at {}: run `make setup` (it unpacks Debian's libgloo-dev into the libtorch cache)",
            gloo.display()
        );
    }
    cc::Build::new()
        .cpp(true)
        .file("csrc/distributed_shim.cpp")
        .include(&include)
        .include(include.join("torch/csrc/api/include"))
        .include(&gloo)
        .flag("-std=c++17")
        .define("_GLIBCXX_USE_CXX11_ABI", "1")
        .define("USE_C10D_GLOO", None)
        .warnings(false)
        .compile("bertwork_distributed_shim");
    println!("cargo:rustc-link-search=native={lib}");
    println!("cargo:rustc-link-lib=dylib=c10");
    println!("cargo:rustc-link-lib=dylib=torch_cpu");
}
