//! Embeds libtorch's library folder as an rpath so that the binary, tests and
//! examples start without LD_LIBRARY_PATH. torch-sys publishes the folder through its
//! `links = "tch"` metadata as DEP_TCH_LIBTORCH_LIB.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        println!("cargo:rustc-env=BERTWORK_LIBTORCH_LIB={lib}");
    }
}
