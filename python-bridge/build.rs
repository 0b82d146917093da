//! The bridge is built against CPython's stable ABI (pyo3's `abi3-py310`) and links no
//! libpython (`extension-module`): one build runs on any CPython 3.10+, whose libpython
//! `Oxbeam.Python.init` loads (with global symbols, through `oxbeam-python-loader`)
//! before this library. No RUNPATH: nothing points at the build machine's Python.
fn main() {
    let config = pyo3_build_config::get();
    // CPython 3.14+ checks the real stack: Python runs on the scheduler's (stack.rs).
    // With the stable ABI this is the oldest version the build supports (3.10).
    println!("cargo::rustc-check-cfg=cfg(oxbeam_python_checks_stack)");
    if (config.version().major, config.version().minor) >= (3, 14) {
        println!("cargo::rustc-cfg=oxbeam_python_checks_stack");
    }
    println!("cargo::rerun-if-env-changed=PYO3_PYTHON");
}
