//! Command-line flags of `ftf-node`.

use std::time::Duration;

/// Parsed flags (see `USAGE`).
#[derive(Debug, Clone)]
pub struct Cli {
    pub endpoints: Vec<String>,
    pub prefix: String,
    pub proc_id: String,
    pub ranks: Vec<u32>,
    pub n: u32,
    pub k: u32,
    pub ttl: Duration,
    pub metrics_port: Option<u16>,
    pub op_interval: Duration,
    pub phase_time: Duration,
    pub pause_timeout: Option<Duration>,
}

pub const USAGE: &str = "\
ftf-node --endpoints URL[,URL..] --proc ID --ranks R[,R..] --n N [--k K] [--ttl-ms MS]
         [--prefix P] [--metrics-port PORT] [--op-interval-ms MS] [--phase-ms MS]
         [--pause-timeout-ms MS]
stdin commands: drop-keepalives | stall MS | fault-none | stats | leave | quit";

fn ms(v: &str, flag: &str) -> Result<Duration, String> {
    v.parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|e| format!("{flag}: {e}"))
}

impl Cli {
    /// Parses `std::env::args()`.
    pub fn parse() -> Result<Cli, String> {
        let mut c = Cli {
            endpoints: Vec::new(),
            prefix: "ftf/demo/".into(),
            proc_id: String::new(),
            ranks: Vec::new(),
            n: 0,
            k: 1,
            ttl: Duration::from_secs(2),
            metrics_port: None,
            op_interval: Duration::from_millis(100),
            phase_time: Duration::from_millis(200),
            pause_timeout: None,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            if flag == "--help" || flag == "-h" {
                return Err(USAGE.into());
            }
            let v = it
                .next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
            match flag.as_str() {
                "--endpoints" => c.endpoints = v.split(',').map(str::to_string).collect(),
                "--prefix" => c.prefix = v,
                "--proc" => c.proc_id = v,
                "--ranks" => {
                    c.ranks = v
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(|s| s.parse().map_err(|e| format!("--ranks: {e}")))
                        .collect::<Result<_, _>>()?
                }
                "--n" => c.n = v.parse().map_err(|e| format!("--n: {e}"))?,
                "--k" => c.k = v.parse().map_err(|e| format!("--k: {e}"))?,
                "--ttl-ms" => c.ttl = ms(&v, &flag)?,
                "--metrics-port" => {
                    c.metrics_port = Some(v.parse().map_err(|e| format!("--metrics-port: {e}"))?)
                }
                "--op-interval-ms" => c.op_interval = ms(&v, &flag)?,
                "--phase-ms" => c.phase_time = ms(&v, &flag)?,
                "--pause-timeout-ms" => c.pause_timeout = Some(ms(&v, &flag)?),
                _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
            }
        }
        if c.endpoints.is_empty() || c.proc_id.is_empty() || c.n == 0 {
            return Err(format!("--endpoints, --proc and --n are required\n{USAGE}"));
        }
        Ok(c)
    }
}
