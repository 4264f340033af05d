//! `forklift copy SRC DST`: copy a disk between NBD exports, files, devices and images,
//! printing a summary (a table, or `-o json|yaml|wide|name`).

use std::path::PathBuf;
use std::process::ExitCode;

use super::exit::Outcome;
use std::sync::Arc;
use std::time::Duration;

use forklift_transfer::copy::verify::{VerifyOptions, verify};
use forklift_transfer::nbd::ConnectOptions;
use forklift_transfer::open::{OpenOptions, open_sink, open_source};
use forklift_transfer::{CopyOptions, Incremental, Progress};
use tokio_util::sync::CancellationToken;

/// Arguments of `forklift copy`.
#[derive(Debug, clap::Args)]
pub struct CopyArgs {
    /// Source: an NBD URI (nbd://, nbds://, nbd+unix://), an oVirt image transfer URL
    /// (https://HOST:PORT/images/TICKET, read through ovirt-imageio; needs --ca-file or
    /// --insecure-skip-verify) or a path (raw, qcow2, VMDK, device).
    src: String,
    /// Destination: an NBD URI or a path; a missing file is created (raw, or by extension
    /// .qcow2/.vmdk/.vhdx).
    dst: String,
    /// Copy only the ranges dirty in this bitmap (`qemu:dirty-bitmap:NAME`).
    #[arg(long, value_name = "NAME")]
    bitmap: Option<String>,
    /// Bytes per request (suffixes K, M), a power of two from 4K to 32M. Above 2M fewer
    /// requests are in flight, so that a copy's buffers stay within 32 MiB.
    #[arg(long, value_name = "N", value_parser = parse_u32_size, default_value = "1M")]
    request_size: u32,
    /// Requests in flight (bounds memory: requests × request size, at most 32 MiB: with a
    /// larger request size fewer run, at least one).
    #[arg(long, value_name = "N", default_value_t = 16)]
    requests: usize,
    /// Write a raw file or device destination with O_DIRECT, around the page cache (falls
    /// back to the page cache, with a warning, where the file system refuses it). The data
    /// is made durable with fdatasync at the end either way. In a file, each run of the
    /// source's data is allocated before it is written (fallocate), so blocks of a run
    /// that turn out to be zero read as zeroes but take space.
    #[arg(long)]
    direct: bool,
    /// NBD connections per export when the server allows multi-conn
    /// [default: 4, or the number of CPUs when fewer, as nbdcopy]
    #[arg(long, value_name = "N")]
    connections: Option<usize>,
    /// Re-read source and destination afterwards and compare CRC32 per block.
    #[arg(long)]
    verify: bool,
    /// Checkpoint file: resume from it if present, update it while copying.
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// Show a progress bar on stderr.
    #[arg(long)]
    progress: bool,
    /// The destination already reads as zeroes: never write zero ranges.
    #[arg(long)]
    target_is_zero: bool,
    /// Times a lost NBD connection is reopened before the copy fails (0: never).
    #[arg(long, value_name = "N", default_value_t = 3)]
    reconnects: u32,
    /// Seconds requests to an NBD server may wait without a byte from it before the
    /// connection counts as lost and is reopened (see --reconnects); 0 waits forever.
    #[arg(long, value_name = "SECONDS", default_value_t = forklift_transfer::nbd::DEFAULT_IO_TIMEOUT.as_secs_f64(), value_parser = parse_seconds)]
    io_timeout: f64,
    /// Zero the whole destination with one fast zero first, then skip zero ranges.
    #[arg(long, conflicts_with = "target_is_zero")]
    zero_target_first: bool,
    /// Zero-detection granularity, as nbdcopy's `--sparse`: runs of this many zero bytes
    /// (suffixes K, M) are zeroed instead of written. 0 turns detection off, and then
    /// between Unix-socket NBD endpoints data passes from socket to socket without being
    /// copied through this process.
    #[arg(long, value_name = "N", default_value = "4K", value_parser = parse_u32_size)]
    sparse: u32,
    /// Between two NBD endpoints, send every block through the generic source and sink
    /// calls instead of copy lanes (one task per pair of connections).
    #[arg(long)]
    no_lanes: bool,
    /// CA certificate (PEM) that signed the ovirt-imageio daemon's certificate, for an
    /// https://HOST:PORT/images/TICKET source (the engine's CA).
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// Do not verify the ovirt-imageio daemon's certificate at all.
    #[arg(long, conflicts_with = "ca_file")]
    insecure_skip_verify: bool,
    #[command(flatten)]
    output: super::output::OutputArg,
}

/// Whether `spec` is an ovirt-imageio transfer URL (`https://HOST:PORT/images/TICKET`);
/// other https URLs stay refused as an unsupported scheme by `open_source`.
fn is_imageio_url(spec: &str) -> Option<url::Url> {
    let url = url::Url::parse(spec).ok()?;
    (url.scheme() == "https" && url.path().starts_with("/images/")).then_some(url)
}

/// Opens an ovirt-imageio image as a source, trusting `--ca-file` or nothing
/// (`--insecure-skip-verify`); `--connections` sets its HTTP connections.
async fn open_imageio(
    url: &url::Url,
    args: &CopyArgs,
) -> forklift_transfer::Result<Arc<dyn forklift_transfer::block::BlockSource>> {
    use forklift_providers::imageio::{ImageioDisk, ImageioOptions, ImageioTls};
    let tls = match (&args.ca_file, args.insecure_skip_verify) {
        (Some(path), _) => ImageioTls::CaPem(std::fs::read(path).map_err(|e| {
            forklift_transfer::Error::io(forklift_transfer::error::Op::Connect, e)
                .with_target(path.display().to_string())
        })?),
        (None, true) => ImageioTls::InsecureSkipVerify,
        (None, false) => {
            return Err(forklift_transfer::Error::invalid_input(
                "an https://HOST:PORT/images/TICKET source needs --ca-file FILE (the CA that \
                 signed the imageio daemon's certificate) or --insecure-skip-verify",
            ));
        }
    };
    let options = ImageioOptions {
        connections: args
            .connections
            .unwrap_or(forklift_providers::imageio::limits::DEFAULT_CONNECTIONS),
        ..ImageioOptions::default()
    };
    Ok(Arc::new(ImageioDisk::open(url, &tls, options).await?))
}

/// What `forklift copy` prints: the copy's summary, where from and where to, and the
/// verification when asked.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct CopyResult<'a> {
    #[serde(flatten)]
    summary: &'a forklift_transfer::copy::CopySummary,
    source: &'a str,
    destination: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    verify: Option<&'a forklift_transfer::copy::verify::VerifyReport>,
}

impl super::output::Printable for CopyResult<'_> {
    fn rows(&self, wide: bool) -> Vec<Vec<String>> {
        use forklift_core::sizing::quantity;
        let s = self.summary;
        let mut titles = vec![
            "SOURCE",
            "DESTINATION",
            "SIZE",
            "WRITTEN",
            "ZEROED",
            "SKIPPED",
            "SECONDS",
            "MIB/S",
        ];
        if wide {
            titles.extend(["READ", "RESUMED", "REQUEST-SIZE", "REQUESTS", "VERIFIED"]);
        }
        let mut row = vec![
            self.source.to_owned(),
            self.destination.to_owned(),
            quantity(s.bytes_total),
            quantity(s.bytes_written),
            quantity(s.bytes_zeroed),
            quantity(s.bytes_skipped),
            format!("{:.2}", s.seconds),
            format!("{:.1}", s.mib_per_s),
        ];
        if wide {
            row.extend([
                quantity(s.bytes_read),
                quantity(s.bytes_resumed),
                quantity(u64::from(s.request_size)),
                s.requests.to_string(),
                match self.verify {
                    Some(v) if v.is_identical() => "identical".to_owned(),
                    Some(v) => format!("{} blocks differ", v.blocks_mismatched),
                    None => "-".to_owned(),
                },
            ]);
        }
        vec![super::output::header(&titles), row]
    }

    fn names(&self) -> Vec<String> {
        vec![self.destination.to_owned()]
    }
}

fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, factor) = match text.char_indices().last() {
        Some((i, 'k' | 'K')) => (&text[..i], 1 << 10),
        Some((i, 'm' | 'M')) => (&text[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&text[..i], 1 << 30),
        _ => (text, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(|| format!("invalid size {text:?} (examples: 65536, 256K, 1M)"))
}

/// A non-negative number of seconds (fractions allowed).
pub(super) fn parse_seconds(text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0 && Duration::try_from_secs_f64(*s).is_ok())
        .ok_or_else(|| format!("invalid number of seconds {text:?} (examples: 300, 0.5, 0)"))
}

/// A size that fits in 32 bits; `CopyOptions::validate` checks the rest (power of two,
/// range), as it does for the library and Python.
fn parse_u32_size(text: &str) -> Result<u32, String> {
    u32::try_from(parse_size(text)?).map_err(|_| format!("size {text:?} is too large"))
}

/// Runs `forklift copy`.
pub fn run(args: CopyArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("forklift copy: cannot start the async runtime: {error}");
            return Outcome::Failed.into();
        }
    };
    match runtime.block_on(copy(args)) {
        Ok(outcome) => outcome.into(),
        Err(error) => {
            // Servers' messages (NBD, imageio) and file names reach the terminal escaped.
            eprintln!("forklift copy: {}", super::terminal::error_chain(&error));
            Outcome::of_transfer(&error).into()
        }
    }
}

async fn copy(args: CopyArgs) -> forklift_transfer::Result<Outcome> {
    // The options first: invalid values are refused before anything is opened, by the
    // check the library and the Python bindings share.
    let mut options = CopyOptions {
        request_size: args.request_size,
        requests: args.requests,
        incremental: args.bitmap.clone().map(Incremental::Bitmap),
        target_is_zero: args.target_is_zero,
        zero_target_first: args.zero_target_first,
        reconnects: args.reconnects,
        io_timeout: Duration::from_secs_f64(args.io_timeout),
        lanes: !args.no_lanes,
        sparse_granularity: args.sparse,
        checkpoint: args.checkpoint.clone(),
        checksums: args.verify,
        progress_interval: Duration::from_millis(200),
        ..CopyOptions::default()
    };
    options.validate()?;
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
    });
    let open = OpenOptions {
        connect: ConnectOptions {
            connections: args
                .connections
                .unwrap_or_else(forklift_transfer::nbd::default_connections)
                .max(1),
            max_in_flight: args.requests,
            ..ConnectOptions::default()
        },
        bitmap: args.bitmap.clone(),
        local: forklift_transfer::local::LocalOptions {
            direct: args.direct,
        },
    };
    let imageio = is_imageio_url(&args.src);
    let source = match &imageio {
        Some(url) => open_imageio(url, &args).await?,
        None => open_source(&args.src, &open).await?.source,
    };
    let size = source.size();
    let destination = open_sink(
        &args.dst,
        size,
        &OpenOptions {
            bitmap: None,
            ..open
        },
    )
    .await?;

    let bar = args.progress.then(|| {
        let bar = indicatif::ProgressBar::new(size);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    options.progress = bar.clone().map(|bar| {
        Arc::new(move |p: &Progress| bar.set_position(p.bytes_done))
            as forklift_transfer::copy::ProgressFn
    });
    let report =
        forklift_transfer::copy(source.clone(), destination.sink.clone(), &options, &cancel)
            .await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let Some(why) = &report.summary.checkpoint_discarded {
        eprintln!("forklift copy: {why}; copied from scratch");
    }
    let verified = if args.verify {
        Some(
            verify(
                source.clone(),
                destination.source.clone(),
                report.block_map.as_ref(),
                &VerifyOptions::default(),
                &cancel,
            )
            .await?,
        )
    } else {
        None
    };
    let identical = verified.as_ref().is_none_or(|v| v.is_identical());
    // An imageio URL holds the ticket, a credential: it is shown redacted.
    let shown_source = match imageio {
        Some(_) => source.describe(),
        None => args.src.clone(),
    };
    let result = CopyResult {
        summary: &report.summary,
        source: &shown_source,
        destination: &args.dst,
        verify: verified.as_ref(),
    };
    if let Err(e) = super::output::print(&result, args.output.format()) {
        eprintln!("forklift copy: {e}");
    }
    Ok(if identical {
        Outcome::Ok
    } else {
        eprintln!("forklift copy: verification found differences");
        Outcome::Failed
    })
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_suffixes() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("256K"), Ok(256 << 10));
        assert_eq!(parse_size("1m"), Ok(1 << 20));
        assert!(parse_size("x").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
    }

    #[test]
    fn seconds_parse_with_fractions_and_refuse_the_rest() {
        assert_eq!(super::parse_seconds("300"), Ok(300.0));
        assert_eq!(super::parse_seconds("0.5"), Ok(0.5));
        assert_eq!(super::parse_seconds("0"), Ok(0.0));
        for bad in ["-1", "x", "inf", "NaN", "1e30"] {
            assert!(super::parse_seconds(bad).is_err(), "{bad}");
        }
    }
}
