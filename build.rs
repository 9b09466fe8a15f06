//! Two builds of one source.
//!
//! * nvcc compiles every `cuda/*.cu` into a fatbin (SASS for each listed architecture plus
//!   PTX for the newest one, so newer GPUs JIT it) that `src/gpu` embeds.
//! * The `cc` crate compiles the same files as C++17 for the host: the reference build,
//!   linked into the crate as `libcuzstd_ref.a`.
//! * bindgen turns `cuda/include/abi.h` into Rust, the one definition of shared structs.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The install command printed when nvcc cannot be found; README.md gives the same one.
const NVCC_INSTALL: &str = "pip install \"nvidia-cuda-nvcc==13.0.*\" \"nvidia-nvvm==13.0.*\" \
\"nvidia-cuda-runtime==13.0.*\" \"nvidia-cuda-crt==13.0.*\" \"nvidia-cuda-cccl==13.0.*\"";

/// Default architectures: SASS for sm_90 (H100/H200) and sm_80 (A100), PTX for compute_90.
const DEFAULT_ARCHS: &str = "90,80";

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let cuda_dir = root.join("cuda");
    let include_dir = cuda_dir.join("include");

    println!("cargo:rerun-if-changed=cuda");
    for var in ["NVCC", "CUDA_HOME", "CUDA_PATH", "CUZSTD_CUDA_ARCHS", "PATH", "CUZSTD_NVCC_FLAGS"] {
        println!("cargo:rerun-if-env-changed={var}");
    }

    let mut sources: Vec<PathBuf> = std::fs::read_dir(&cuda_dir)
        .expect("cuda/ directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cu"))
        .collect();
    sources.sort();
    for entry in walk(&cuda_dir) {
        println!("cargo:rerun-if-changed={}", entry.display());
    }

    build_kernels(&sources, &include_dir, &out);
    build_reference(&sources, &include_dir);
    generate_abi(&include_dir, &out);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Finds nvcc through `NVCC`, `CUDA_HOME`/`CUDA_PATH`, `PATH`, then the pip-installed
/// `nvidia/cu13` layout of every Python found on `PATH`.
fn find_nvcc() -> Option<PathBuf> {
    if let Some(p) = env::var_os("NVCC") {
        return Some(PathBuf::from(p));
    }
    for var in ["CUDA_HOME", "CUDA_PATH"] {
        if let Some(home) = env::var_os(var) {
            let p = Path::new(&home).join("bin").join("nvcc");
            if p.is_file() {
                return Some(p);
            }
        }
    }
    if let Some(path) = env::var_os("PATH") {
        for dir in env::split_paths(&path) {
            let p = dir.join("nvcc");
            if p.is_file() {
                return Some(p);
            }
        }
    }
    for python in ["python3", "python"] {
        let script = "import site, sysconfig\n\
                      paths = [sysconfig.get_paths()['purelib'], sysconfig.get_paths()['platlib']]\n\
                      paths += site.getsitepackages() if hasattr(site, 'getsitepackages') else []\n\
                      paths.append(site.getusersitepackages())\n\
                      print('\\n'.join(paths))";
        let Ok(output) = Command::new(python).arg("-c").arg(script).output() else {
            continue;
        };
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let p = Path::new(line.trim()).join("nvidia/cu13/bin/nvcc");
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

fn archs() -> Vec<u32> {
    let spec = env::var("CUZSTD_CUDA_ARCHS").unwrap_or_else(|_| DEFAULT_ARCHS.to_string());
    let mut archs: Vec<u32> = spec
        .split([',', ';', ' '])
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.trim_start_matches("sm_")
                .parse()
                .unwrap_or_else(|_| panic!("CUZSTD_CUDA_ARCHS: `{s}` is not an architecture like 90"))
        })
        .collect();
    assert!(!archs.is_empty(), "CUZSTD_CUDA_ARCHS lists no architecture");
    archs.sort_unstable();
    archs.dedup();
    archs
}

fn build_kernels(sources: &[PathBuf], include_dir: &Path, out: &Path) {
    let nvcc = find_nvcc().unwrap_or_else(|| {
        panic!(
            "\n\ncuzstd: nvcc (the CUDA compiler) was not found through NVCC, CUDA_HOME, CUDA_PATH, PATH \
             or a pip-installed nvidia/cu13 package.\nInstall it with:\n    {NVCC_INSTALL}\n\n"
        )
    });
    let archs = archs();
    let newest = *archs.last().unwrap();
    let mut gencode: Vec<String> = Vec::new();
    for a in &archs {
        gencode.push(format!("-gencode=arch=compute_{a},code=sm_{a}"));
    }
    gencode.push(format!("-gencode=arch=compute_{newest},code=compute_{newest}"));
    let extra: Vec<String> =
        env::var("CUZSTD_NVCC_FLAGS").map(|s| s.split_whitespace().map(str::to_string).collect()).unwrap_or_default();

    // One nvcc per source, in parallel.
    let handles: Vec<_> = sources
        .iter()
        .map(|src| {
            let stem = src.file_stem().unwrap().to_string_lossy().into_owned();
            let fatbin = out.join(format!("{stem}.fatbin"));
            let mut cmd = Command::new(&nvcc);
            cmd.arg("--fatbin")
                .arg("-std=c++17")
                .arg("-O3")
                .arg("-lineinfo")
                .arg("-Xptxas=-warn-spills")
                .arg(format!("-I{}", include_dir.display()))
                .args(&gencode)
                .args(&extra)
                .arg("-o")
                .arg(&fatbin)
                .arg(src);
            std::thread::spawn(move || {
                let shown = format!("{cmd:?}");
                let output =
                    cmd.output().unwrap_or_else(|e| panic!("cuzstd: could not run nvcc: {e}\ncommand: {shown}"));
                if !output.status.success() {
                    panic!(
                        "\n\ncuzstd: nvcc failed ({}).\ncommand: {shown}\n--- stdout ---\n{}\n--- stderr ---\n{}\n",
                        output.status,
                        String::from_utf8_lossy(&output.stdout),
                        String::from_utf8_lossy(&output.stderr)
                    );
                }
                for line in String::from_utf8_lossy(&output.stderr).lines() {
                    println!("cargo:warning=nvcc: {line}");
                }
                (stem, fatbin)
            })
        })
        .collect();
    let mut modules: Vec<(String, PathBuf)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    modules.sort();

    let mut rs = String::from("// Generated by build.rs: one embedded fatbin per cuda/*.cu.\n");
    for (stem, path) in &modules {
        writeln!(rs, "pub const {}: &[u8] = include_bytes!({:?});", stem.to_uppercase(), path.display().to_string())
            .unwrap();
    }
    let archs_text: Vec<String> = archs.iter().map(|a| format!("sm_{a}")).collect();
    writeln!(rs, "pub const ARCHS: &str = {:?};", archs_text.join(",")).unwrap();
    writeln!(rs, "pub const PTX_ARCH: &str = \"compute_{newest}\";").unwrap();
    std::fs::write(out.join("kernels.rs"), rs).unwrap();
}

fn build_reference(sources: &[PathBuf], include_dir: &Path) {
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .std("c++17")
        .include(include_dir)
        .flag("-x")
        .flag("c++")
        .flag_if_supported("-fno-exceptions")
        .flag_if_supported("-fno-rtti")
        .flag("-Wall")
        .flag("-Wextra")
        .opt_level(2)
        .warnings_into_errors(true);
    if env::var("CUZSTD_REFERENCE_SANITIZE").is_ok_and(|v| v == "address") {
        build.flag("-fsanitize=address").flag("-fno-omit-frame-pointer");
    }
    for src in sources {
        build.file(src);
    }
    println!("cargo:rerun-if-env-changed=CUZSTD_REFERENCE_SANITIZE");
    build.compile("cuzstd_ref");
}

fn generate_abi(include_dir: &Path, out: &Path) {
    let header = include_dir.join("abi.h");
    let bindings = bindgen::Builder::default()
        .header(header.to_string_lossy())
        .allowlist_type("cz_.*")
        .allowlist_var("CZ_.*")
        .prepend_enum_name(false)
        .default_enum_style(bindgen::EnumVariation::Consts)
        .derive_default(true)
        .derive_eq(true)
        .layout_tests(false)
        .generate()
        .unwrap_or_else(|e| {
            panic!(
                "cuzstd: bindgen could not read {}: {e}\n(bindgen needs libclang: apt-get install libclang-dev)",
                header.display()
            )
        });
    bindings.write_to_file(out.join("abi.rs")).unwrap();
}
