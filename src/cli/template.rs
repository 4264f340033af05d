//! `forklift template`: renders naming templates exactly as MTV does (batch JSON-lines contract).

use std::io::{BufRead, Write};
use std::process::ExitCode;

use clap::Subcommand;
use forklift_core::naming::{NetworkNameTemplateData, PvcNameTemplateData, VolumeNameTemplateData};
use forklift_core::template::{Template, TemplateData};
use serde::{Deserialize, Serialize};

use super::exit::Outcome;

/// Template operations.
#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Reads JSON lines {"kind": "pvc"|"volume"|"network", "template": "...", "data": {...}} on
    /// stdin and writes one JSON line each: {"output": "..."} or {"error": "...", "class":
    /// "parse"|"exec"} ("input" for a line that is not a valid request). Data fields use Go's
    /// names (PlanName, DiskIndex, ...).
    Render,
}

#[derive(Deserialize)]
struct Request {
    kind: String,
    template: String,
    #[serde(default)]
    data: Option<serde_json::Value>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Response {
    Output { output: String },
    Error { error: String, class: &'static str },
}

fn decode_data(
    kind: &str,
    data: Option<serde_json::Value>,
) -> Result<Box<dyn TemplateData>, String> {
    let data = data.unwrap_or_else(|| serde_json::json!({}));
    let boxed: Box<dyn TemplateData> = match kind {
        "pvc" => Box::new(
            serde_json::from_value::<PvcNameTemplateData>(data).map_err(|e| e.to_string())?,
        ),
        "volume" => Box::new(
            serde_json::from_value::<VolumeNameTemplateData>(data).map_err(|e| e.to_string())?,
        ),
        "network" => Box::new(
            serde_json::from_value::<NetworkNameTemplateData>(data).map_err(|e| e.to_string())?,
        ),
        other => {
            return Err(format!(
                "Unknown kind {other:?}: expected pvc, volume or network"
            ));
        }
    };
    Ok(boxed)
}

/// Renders one request line; the last parsed template is reused when the text repeats.
fn render_line(
    line: &str,
    cache: &mut Option<(String, Result<Template, forklift_core::template::Error>)>,
) -> Response {
    let request: Request = match serde_json::from_str(line) {
        Ok(r) => r,
        Err(e) => {
            return Response::Error {
                error: format!("Invalid request line: {e}"),
                class: "input",
            };
        }
    };
    let data = match decode_data(&request.kind, request.data) {
        Ok(d) => d,
        Err(e) => {
            return Response::Error {
                error: format!("Invalid data: {e}"),
                class: "input",
            };
        }
    };
    if cache
        .as_ref()
        .is_none_or(|(text, _)| *text != request.template)
    {
        let parsed = Template::parse(&request.template);
        *cache = Some((request.template, parsed));
    }
    let Some((_, parsed)) = cache.as_ref() else {
        return Response::Error {
            error: "Internal error".into(),
            class: "input",
        };
    };
    match parsed
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|t| t.render(data.as_ref()))
    {
        Ok(output) => Response::Output { output },
        Err(e) => Response::Error {
            error: e.to_string(),
            class: e.class().as_str(),
        },
    }
}

impl TemplateCommand {
    /// Runs the command.
    pub fn run(self) -> ExitCode {
        let TemplateCommand::Render = self;
        let mut input = std::io::BufReader::new(std::io::stdin().lock());
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let mut cache = None;
        let mut line = String::new();
        let result = (|| -> std::io::Result<()> {
            loop {
                line.clear();
                if input.read_line(&mut line)? == 0 {
                    break;
                }
                let text = line.trim();
                if text.is_empty() {
                    continue;
                }
                let response = render_line(text, &mut cache);
                serde_json::to_writer(&mut out, &response)?;
                out.write_all(b"\n")?;
                // Flush whenever no more input is buffered, so interactive callers get answers.
                if input.buffer().is_empty() {
                    out.flush()?;
                }
            }
            out.flush()
        })();
        match result {
            Ok(()) => Outcome::Ok.into(),
            Err(e) => {
                eprintln!("forklift template render: {e}");
                Outcome::Failed.into()
            }
        }
    }
}
