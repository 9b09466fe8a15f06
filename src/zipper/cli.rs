//! `cuzstd zipper ...`: pack a model into a zipper container, or verify one.
//!
//! ```text
//! cuzstd zipper pack IN OUT [--base int8|int4] [--group N] [--density P | --lossless]
//!                           [--tile-rows N] [--max-tile-bytes N] [--layout planes|plain]
//!                           [--tile-codec literal|zstd] [--level L] [--include-embeddings] [--quiet]
//! cuzstd zipper verify FILE
//! ```
//!
//! `--density P` is a percentage of each row's entries (`1` = 1 %, the default; `0` = base only).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use super::container::ZipperFile;
use super::delta::DeltaMode;
use super::frame::TileCodec;
use super::pack::{pack_file, PackOptions, PackReport, TensorReport};
use super::quant::BaseKind;
use super::tile::{TileLayout, DEFAULT_MAX_TILES, DEFAULT_MAX_TILE_BYTES, DEFAULT_TILE_ROWS};
use super::ZipperError;

#[derive(Parser, Debug)]
#[command(name = "cuzstd zipper", about = "Compressed sparse-delta weights (quantized base + zstd delta tiles)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Pack a GGUF or safetensors model into a zipper container and print the pack report.
    Pack {
        input: PathBuf,
        output: PathBuf,
        /// Base quantization.
        #[arg(long, default_value = "int8", value_parser = ["int8", "int4"])]
        base: String,
        /// INT4 group size along the input dimension (32, 64 or 128).
        #[arg(long, default_value_t = 64)]
        group: usize,
        /// Percentage of each row's entries kept in the delta (1 = 1 %; 0 = base only).
        #[arg(long, default_value_t = 1.0, conflicts_with = "lossless")]
        density: f64,
        /// Keep every entry needed to restore the source f16/bf16 values bit-exactly.
        #[arg(long)]
        lossless: bool,
        /// Most rows per tile.
        #[arg(long, default_value_t = DEFAULT_TILE_ROWS)]
        tile_rows: usize,
        /// A weight that would have more tiles than this gets taller ones (at most 32 rows,
        /// the batch-1 GPU kernel's limit; 0: keep --tile-rows).
        #[arg(long, default_value_t = DEFAULT_MAX_TILES)]
        max_tiles: usize,
        /// Most bytes of a tile's decompressed delta (a GPU block's shared memory).
        #[arg(long, default_value_t = DEFAULT_MAX_TILE_BYTES)]
        max_tile_bytes: usize,
        /// Byte order of a tile's delta.
        #[arg(long, default_value = "planes", value_parser = ["planes", "plain"])]
        layout: String,
        /// How tiles are coded: `literal` (one Huffman table per weight in a dictionary, tiles
        /// decoded by the fused kernel without table builds) or `zstd` (libzstd at --level).
        #[arg(long, default_value = "literal", value_parser = ["literal", "zstd"])]
        tile_codec: String,
        /// zstd level of the delta frames (tile codec zstd).
        #[arg(long, default_value_t = super::frame::DEFAULT_LEVEL)]
        level: i32,
        /// Also pack embeddings and norms' 2-D `.weight` tensors.
        #[arg(long)]
        include_embeddings: bool,
        /// Print the totals only.
        #[arg(long)]
        quiet: bool,
    },
    /// Validate a container and decode every delta tile.
    Verify { file: PathBuf },
}

/// Runs `cuzstd zipper ARGS...` (`args` are the words after `zipper`).
pub fn main(args: &[String]) -> ExitCode {
    let words = std::iter::once("cuzstd zipper".to_string()).chain(args.iter().cloned());
    let cli = match Cli::try_parse_from(words) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cuzstd zipper: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> Result<(), ZipperError> {
    match cli.command {
        Command::Pack {
            input,
            output,
            base,
            group,
            density,
            lossless,
            tile_rows,
            max_tiles,
            max_tile_bytes,
            layout,
            tile_codec,
            level,
            include_embeddings,
            quiet,
        } => {
            let o = PackOptions {
                kind: BaseKind::parse(&base, Some(group))?,
                mode: if lossless { DeltaMode::Lossless } else { DeltaMode::TopK { density: density / 100.0 } },
                tile_rows,
                max_tiles,
                max_tile_bytes,
                layout: TileLayout::parse(&layout).expect("clap checked"),
                level,
                codec: TileCodec::parse(&tile_codec).expect("clap checked"),
                include_embeddings,
            };
            let report = pack_file(&input, &output, &o)?;
            print_report(&report, &o, quiet);
            Ok(())
        }
        Command::Verify { file } => {
            let f = ZipperFile::open(&file)?;
            let (mut tiles, mut nnz) = (0, 0);
            for name in f.weight_names() {
                let w = f.weight(name)?;
                w.verify()?;
                tiles += w.tiles();
                nnz += w.nnz;
            }
            println!(
                "{}: ok ({} packed weights, {tiles} tiles, {nnz} delta entries, {} plain tensors; format {} v{}, base {}, mode {})",
                file.display(),
                f.meta.weights.len(),
                f.plain_tensors().count(),
                f.meta.format,
                f.meta.version,
                f.meta.base,
                f.meta.mode
            );
            Ok(())
        }
    }
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn row(r: &TensorReport) -> String {
    format!(
        "{:<28} {:>11} {:>10} {:>10} {:>10} {:>6.2} {:>7.3} {:>6.3} {:>9.3e} {:>9.3e}",
        r.name,
        if r.name == "total" { String::new() } else { format!("{}x{}", r.rows, r.cols) },
        r.f16_bytes,
        r.base_bytes,
        r.delta_bytes,
        r.delta_ratio(),
        100.0 * r.density(),
        r.ratio(),
        r.err_base,
        r.err_final
    )
}

/// Prints the pack report: per tensor and in total.
pub fn print_report(report: &PackReport, o: &PackOptions, quiet: bool) {
    println!(
        "zipper pack: base {}{}, {}, tile rows {}{}, tile bound {} B, layout {}, tile codec {}",
        o.kind.name(),
        match o.kind {
            BaseKind::Int4 { group } => format!(" (group {group})"),
            BaseKind::Int8 => String::new(),
        },
        match o.mode {
            DeltaMode::Lossless => "lossless".to_string(),
            DeltaMode::TopK { density } => format!("density {}%", density * 100.0),
        },
        o.tile_rows,
        if o.max_tiles > 0 { format!(" (taller past {} tiles a weight)", o.max_tiles) } else { String::new() },
        o.max_tile_bytes,
        o.layout.name(),
        match o.codec {
            TileCodec::Literal => "literal (one Huffman table per weight)".to_string(),
            TileCodec::Zstd => format!("zstd level {}", o.level),
        }
    );
    println!(
        "{:<28} {:>11} {:>10} {:>10} {:>10} {:>6} {:>7} {:>6} {:>9} {:>9}",
        "tensor", "shape", "f16 B", "base B", "delta B", "zstd×", "nnz %", "f16/zp", "err base", "err delta"
    );
    if !quiet {
        for r in &report.tensors {
            println!("{}", row(r));
        }
    }
    let t = report.total();
    println!("{}", row(&t));
    println!(
        "packed weights: {} ({} tiles, {} delta entries, delta before zstd {:.2} MiB{}); copied tensors: {} ({:.2} MiB)",
        report.tensors.len(),
        t.tiles,
        t.nnz,
        mib(t.delta_raw_bytes),
        if o.mode == DeltaMode::Lossless { format!(", {} residuals nudged by an ulp, {} entries rebased to 0", t.nudged, t.rebased) } else { String::new() },
        report.plain_tensors,
        mib(report.plain_bytes)
    );
    println!(
        "source {:.2} MiB -> container {:.2} MiB; weights as f16 {:.2} MiB -> base {:.2} MiB + delta {:.2} MiB ({:.3} bits/weight); {:.1} s",
        mib(report.source_bytes),
        mib(report.container_bytes),
        mib(t.f16_bytes),
        mib(t.base_bytes),
        mib(t.delta_bytes),
        8.0 * (t.base_bytes + t.delta_bytes) as f64 / (t.f16_bytes / 2).max(1) as f64,
        report.seconds
    );
}
