//! Building a NIF library with `panic = "abort"` must fail with a message saying why:
//! with abort, a panic or `oxbeam::raise` would take the whole VM down.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn panic_abort_is_a_compile_error() {
    let core = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("panic_abort_crate");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"abort_nif\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
             [lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\noxbeam = {{ path = {:?} }}\n\n\
             [profile.dev]\npanic = \"abort\"\n\n[workspace]\n",
            core.display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("src/lib.rs"),
        "#[oxbeam::nif]\nfn one() -> i64 { 1 }\noxbeam::init!(\"Elixir.Abort\");\n",
    )
    .unwrap();

    let output = Command::new(env!("CARGO"))
        .arg("check")
        .arg("--quiet")
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the build should fail:\n{stderr}");
    assert!(
        stderr.contains("oxbeam needs `panic = \"unwind\"`"),
        "unexpected error:\n{stderr}"
    );
}
