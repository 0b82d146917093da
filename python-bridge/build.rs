//! Links the bridge against the CPython chosen at build time (PYO3_PYTHON, default the
//! `python3` on PATH) and records where its shared libpython lives, so the VM's loader
//! finds it (rpath) without LD_LIBRARY_PATH.
fn main() {
    let config = pyo3_build_config::get();
    if let Some(dir) = config.lib_dir() {
        println!("cargo::rustc-link-arg=-Wl,-rpath,{dir}");
    }
    if let Some(executable) = config.executable() {
        println!("cargo::rustc-env=OXBEAM_PYTHON_EXECUTABLE={executable}");
    }
    println!(
        "cargo::rustc-env=OXBEAM_PYTHON_VERSION={}.{}",
        config.version().major,
        config.version().minor
    );
    // CPython 3.14+ checks the real stack: Python runs on the scheduler's (stack.rs).
    println!("cargo::rustc-check-cfg=cfg(oxbeam_python_checks_stack)");
    if (config.version().major, config.version().minor) >= (3, 14) {
        println!("cargo::rustc-cfg=oxbeam_python_checks_stack");
    }
    println!("cargo::rerun-if-env-changed=PYO3_PYTHON");
}
