//! bertwork's C++ shims (`csrc/`, declared in `csrc/bertwork_shim.h`): every entry
//! point's Rust declaration, and their calling convention: a call returns 0, or -1
//! with the exception's message (its first line) written into a caller's buffer. The
//! device shims, which have no buffer, return -1 on failure.
//!
//! The declarations must match the header's; the unit test below compares their
//! names, parameters and return types.

use std::ffi::{c_char, c_void, CStr};

use torch_sys::C_tensor;

use anyhow::{bail, Result};

extern "C" {
    // csrc/device_shim.cpp
    pub(crate) fn bertwork_device_memory(device: i32, out: *mut i64) -> i32;
    pub(crate) fn bertwork_cuda_precision(bf16: i32, tf32: i32) -> i32;
    pub(crate) fn bertwork_cpu_autocast(enabled: i32) -> i32;
    pub(crate) fn bertwork_quiet_warnings();

    // csrc/optimizer_shim.cpp
    pub(crate) fn bertwork_fused_adamw(
        params: *const *mut C_tensor,
        exp_avgs: *const *mut C_tensor,
        exp_avg_sqs: *const *mut C_tensor,
        n: i64,
        step: f64,
        lr: f64,
        beta1: f64,
        beta2: f64,
        weight_decay: f64,
        eps: f64,
        err: *mut c_char,
        err_len: usize,
    ) -> i32;
    pub(crate) fn bertwork_grad_norm(
        params: *const *mut C_tensor,
        n: i64,
        out: *mut f64,
        err: *mut c_char,
        err_len: usize,
    ) -> i32;
    pub(crate) fn bertwork_scale_grads(
        params: *const *mut C_tensor,
        n: i64,
        scale: f64,
        err: *mut c_char,
        err_len: usize,
    ) -> i32;
    pub(crate) fn bertwork_drop_grads(
        params: *const *mut C_tensor,
        n: i64,
        err: *mut c_char,
        err_len: usize,
    ) -> i32;

    // csrc/profiler_shim.cpp
    pub(crate) fn bertwork_profiler_start(err: *mut c_char, err_len: usize) -> i32;
    pub(crate) fn bertwork_profiler_stop(
        trace_path: *const c_char,
        err: *mut c_char,
        err_len: usize,
    ) -> i32;

    // csrc/distributed_shim.cpp
    pub(crate) fn bertwork_dist_open(
        host: *const c_char,
        port: u16,
        rank: i32,
        world: i32,
        agent_store: i32,
        prefix: *const c_char,
        loopback: i32,
        timeout_ms: i64,
        out: *mut *mut c_void,
        err: *mut c_char,
        err_len: usize,
    ) -> i32;
    pub(crate) fn bertwork_dist_close(group: *mut c_void);
    pub(crate) fn bertwork_dist_all_reduce(
        group: *mut c_void,
        tensors: *const *mut C_tensor,
        n: i64,
        bucket_bytes: i64,
        divisor: f64,
        err: *mut c_char,
        err_len: usize,
    ) -> i32;
    pub(crate) fn bertwork_dist_broadcast(
        group: *mut c_void,
        tensors: *const *mut C_tensor,
        n: i64,
        root: i32,
        bucket_bytes: i64,
        err: *mut c_char,
        err_len: usize,
    ) -> i32;
    pub(crate) fn bertwork_dist_store_set(
        group: *mut c_void,
        key: *const c_char,
        value: *const u8,
        len: usize,
        err: *mut c_char,
        err_len: usize,
    ) -> i32;
    pub(crate) fn bertwork_dist_store_get(
        group: *mut c_void,
        key: *const c_char,
        timeout_ms: i64,
        out: *mut *mut u8,
        out_len: *mut usize,
        err: *mut c_char,
        err_len: usize,
    ) -> i32;
    pub(crate) fn bertwork_dist_free(buffer: *mut u8);
    pub(crate) fn bertwork_dist_reducer_new(
        group: *mut c_void,
        params: *const *mut C_tensor,
        n: i64,
        bucket_bytes: i64,
        out: *mut *mut c_void,
        err: *mut c_char,
        err_len: usize,
    ) -> i32;
    pub(crate) fn bertwork_dist_reducer_prepare(
        reducer: *mut c_void,
        loss: *mut C_tensor,
        err: *mut c_char,
        err_len: usize,
    ) -> i32;
    pub(crate) fn bertwork_dist_reducer_free(reducer: *mut c_void);
}

/// Runs a shim call `f(err, err_len)`; a non-zero return becomes an error naming
/// `what` with libtorch's message.
pub fn call(what: &str, f: impl FnOnce(*mut c_char, usize) -> i32) -> Result<()> {
    match message_of(f) {
        Ok(()) => Ok(()),
        Err(message) => bail!("{what} failed in libtorch: {message}"),
    }
}

/// Runs a shim call `f(err, err_len)`; a non-zero return gives the message the shim
/// wrote (its exception's first line), for callers that word the error themselves.
pub fn message_of(f: impl FnOnce(*mut c_char, usize) -> i32) -> Result<(), String> {
    let mut err = [0 as c_char; 1024];
    if f(err.as_mut_ptr(), err.len()) == 0 {
        return Ok(());
    }
    // SAFETY: on failure the shim writes a NUL-terminated message into `err`.
    Err(unsafe { CStr::from_ptr(err.as_ptr()) }
        .to_string_lossy()
        .into_owned())
}

#[cfg(test)]
mod tests {
    //! The Rust declarations above against `csrc/bertwork_shim.h` and the shims'
    //! sources, read as text: a mismatch would not fail to link, it would pass
    //! arguments the C++ side reads as something else.

    use std::collections::BTreeMap;
    use std::path::Path;

    use regex::Regex;

    /// A parameter or return type as the ABI sees it: a pointer, or a scalar named by
    /// its Rust type.
    type Signature = (Vec<String>, String);

    fn read(relative: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// A C type (with or without the parameter's name) as its Rust equivalent.
    fn c_kind(c: &str) -> String {
        let c = c.trim();
        if c.contains('*') {
            return "ptr".into();
        }
        let words: Vec<&str> = c.split_whitespace().filter(|w| *w != "const").collect();
        let ty = match words.as_slice() {
            [ty] | [ty, _] => *ty,
            _ => panic!("unexpected C parameter `{c}`"),
        };
        match ty {
            "int" => "i32",
            "int64_t" => "i64",
            "uint16_t" => "u16",
            "size_t" => "usize",
            "double" => "f64",
            "void" => "()",
            other => panic!("no Rust equivalent listed for the C type `{other}`"),
        }
        .into()
    }

    /// A Rust type as its ABI kind (see `c_kind`).
    fn rust_kind(rust: &str) -> String {
        let rust = rust.trim();
        if rust.starts_with('*') {
            "ptr".into()
        } else {
            rust.into()
        }
    }

    /// The header's entry points: name -> (parameter kinds, return kind).
    fn header_functions(header: &str) -> BTreeMap<String, Signature> {
        let code: String = header
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join(" ");
        let decl = Regex::new(r"(\w+)\s+(bertwork_\w+)\s*\(([^)]*)\)\s*;").unwrap();
        decl.captures_iter(&code)
            .map(|c| {
                let params = match c[3].trim() {
                    "" | "void" => vec![],
                    list => list.split(',').map(c_kind).collect(),
                };
                (c[2].to_string(), (params, c_kind(&c[1])))
            })
            .collect()
    }

    /// The Rust declarations of the first `extern "C"` block of `source`.
    fn rust_functions(source: &str) -> BTreeMap<String, Signature> {
        let start = source
            .find("extern \"C\" {")
            .expect("no extern block in ffi.rs");
        let block = &source[start..start + source[start..].find("\n}\n").unwrap()];
        let decl = Regex::new(r"fn\s+(bertwork_\w+)\s*\(([^)]*)\)\s*(->\s*([^;]+))?;").unwrap();
        decl.captures_iter(block)
            .map(|c| {
                let params = c[2]
                    .split(',')
                    .filter(|p| !p.trim().is_empty())
                    .map(|p| rust_kind(p.split_once(':').expect("a parameter without type").1))
                    .collect();
                let ret = c.get(4).map_or("()".to_string(), |r| rust_kind(r.as_str()));
                (c[1].to_string(), (params, ret))
            })
            .collect()
    }

    #[test]
    fn rust_declarations_match_the_c_header() {
        let header = header_functions(&read("csrc/bertwork_shim.h"));
        let rust = rust_functions(include_str!("ffi.rs"));
        assert!(header.len() >= 20, "too few declarations found: {header:?}");
        assert_eq!(
            header.keys().collect::<Vec<_>>(),
            rust.keys().collect::<Vec<_>>(),
            "the header and src/ffi.rs declare different entry points"
        );
        for (name, (params, ret)) in &header {
            let (rust_params, rust_ret) = &rust[name];
            assert_eq!(
                params.len(),
                rust_params.len(),
                "{name}: {} parameters in the header, {} in src/ffi.rs",
                params.len(),
                rust_params.len()
            );
            assert_eq!(params, rust_params, "{name}: parameter types differ");
            assert_eq!(ret, rust_ret, "{name}: return types differ");
        }
    }

    #[test]
    fn signature_parsers_see_a_mismatch() {
        let header = header_functions("int bertwork_f(int a, char* err, size_t err_len);");
        let rust = rust_functions(
            "extern \"C\" {\n    fn bertwork_f(a: i64, err: *mut c_char, err_len: usize) -> i32;\n}\n",
        );
        assert_eq!(header["bertwork_f"].0, ["i32", "ptr", "usize"]);
        assert_eq!(rust["bertwork_f"].0, ["i64", "ptr", "usize"]);
        assert_eq!(header["bertwork_f"].1, rust["bertwork_f"].1);
    }

    #[test]
    fn every_shim_includes_the_header_and_protects_every_entry_point() {
        let header = header_functions(&read("csrc/bertwork_shim.h"));
        let definition =
            Regex::new(r#"extern "C" \w+ (bertwork_\w+)\([^)]*\)\s*\{\s*(\S+)"#).unwrap();
        let mut defined = Vec::new();
        for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("csrc")).unwrap()
        {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "cpp") {
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            assert!(
                source.contains("#include \"bertwork_shim.h\""),
                "{} does not include bertwork_shim.h",
                path.display()
            );
            for c in definition.captures_iter(&source) {
                assert!(
                    c[2].starts_with("BERTWORK_PROTECT("),
                    "{} in {}: the body does not start with BERTWORK_PROTECT",
                    &c[1],
                    path.display()
                );
                defined.push(c[1].to_string());
            }
        }
        defined.sort();
        assert_eq!(
            defined,
            header.keys().cloned().collect::<Vec<_>>(),
            "the shims define other entry points than the header declares"
        );
    }

    #[test]
    fn no_extern_block_outside_this_file() {
        fn visit(dir: &Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    visit(&path, found);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && !path.ends_with("src/ffi.rs")
                    && std::fs::read_to_string(&path)
                        .unwrap()
                        .contains("extern \"C\" {")
                {
                    found.push(path.display().to_string());
                }
            }
        }
        let mut found = Vec::new();
        visit(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        assert!(
            found.is_empty(),
            "shim declarations belong in src/ffi.rs: {found:?}"
        );
    }
}
