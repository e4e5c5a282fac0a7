//! `ftf-check`: the cluster invariant checker over etcd's history and the nodes' logs.
//!
//! ```text
//! ftf-check record --endpoints E1,E2 --prefix P --out history.jsonl
//! ftf-check check  --endpoints E1,E2 --prefix P [--history history.jsonl] --k K
//!                  [--killed PROC@TS_MS]... [--budget-ms MS] [--allow-unrecovered] LOG...
//! ftf-check story  [--t0 TS_MS] LOG...
//! ```
//!
//! `check` exits 1 and lists every violation when an invariant broke (see `invariants`),
//! 2 on usage or I/O errors, 0 otherwise. The history is the recorded file (if given)
//! completed from etcd up to its current revision; without a file it is read from
//! revision 1, which fails loudly if etcd compacted it.

#![allow(clippy::std_instead_of_core)] // std-only program

mod history;
mod invariants;
mod logs;
mod story;

use std::process::ExitCode;

struct Args {
    cmd: String,
    endpoints: Vec<String>,
    prefix: String,
    out: Option<String>,
    history: Option<String>,
    expect: invariants::Expect,
    t0: u64,
    logs: Vec<String>,
}

fn parse() -> Result<Args, String> {
    // `--flag=value` is the same as `--flag value`.
    let argv: Vec<String> = std::env::args()
        .skip(1)
        .flat_map(|a| match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => vec![f.to_string(), v.to_string()],
            _ => vec![a],
        })
        .collect();
    let mut it = argv.into_iter();
    let cmd = it.next().ok_or("usage: ftf-check record|check|story ...")?;
    let mut a = Args {
        cmd,
        endpoints: Vec::new(),
        prefix: String::new(),
        out: None,
        history: None,
        expect: invariants::Expect {
            k: 1,
            ..Default::default()
        },
        t0: 0,
        logs: Vec::new(),
    };
    while let Some(arg) = it.next() {
        let mut val = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--endpoints" => a.endpoints = val()?.split(',').map(str::to_string).collect(),
            "--prefix" => a.prefix = val()?,
            "--out" => a.out = Some(val()?),
            "--history" => a.history = Some(val()?),
            "--k" => a.expect.k = val()?.parse().map_err(|e| format!("--k: {e}"))?,
            "--budget-ms" => {
                a.expect.budget_ms = val()?.parse().map_err(|e| format!("--budget-ms: {e}"))?
            }
            "--allow-unrecovered" => a.expect.allow_unrecovered = true,
            "--t0" => a.t0 = val()?.parse().map_err(|e| format!("--t0: {e}"))?,
            "--killed" => {
                let v = val()?;
                let (p, ts) = v.split_once('@').ok_or("--killed PROC@TS_MS")?;
                let ts = ts.parse().map_err(|e| format!("--killed: {e}"))?;
                a.expect.killed.push((p.to_string(), ts));
            }
            s if s.starts_with("--") => return Err(format!("unknown flag {s}")),
            _ => a.logs.push(arg),
        }
    }
    Ok(a)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let a = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ftf-check: {e}");
            return ExitCode::from(2);
        }
    };
    match a.cmd.as_str() {
        "record" => {
            let out = a.out.clone().unwrap_or_else(|| "history.jsonl".into());
            match history::record(&a.endpoints, &a.prefix, &out).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("ftf-check record: {e}");
                    ExitCode::from(2)
                }
            }
        }
        "story" => match logs::Logs::load(&a.logs) {
            Ok(l) => {
                story::print(&l, a.t0);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("ftf-check story: {e}");
                ExitCode::from(2)
            }
        },
        "check" => {
            let mut h = match &a.history {
                Some(p) => match history::History::load(p) {
                    Ok(h) => h,
                    Err(e) => {
                        eprintln!("ftf-check: {e}");
                        return ExitCode::from(2);
                    }
                },
                None => history::History::default(),
            };
            if !a.endpoints.is_empty() {
                if let Err(e) = h.complete_from(&a.endpoints, &a.prefix).await {
                    eprintln!("ftf-check: {e}");
                    return ExitCode::from(2);
                }
            }
            let logs = match logs::Logs::load(&a.logs) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("ftf-check: {e}");
                    return ExitCode::from(2);
                }
            };
            let r = invariants::check(&h, &logs, &a.expect);
            for n in &r.notes {
                println!("note: {n}");
            }
            if !r.detection_ms.is_empty() {
                let mut d = r.detection_ms.clone();
                d.sort_unstable();
                println!(
                    "detection (kill -> FAILED on each survivor): n={} min={} ms p50={} ms max={} ms",
                    d.len(),
                    d[0],
                    d[d.len() / 2],
                    d[d.len() - 1]
                );
            }
            if r.violations.is_empty() {
                println!("ftf-check: all invariants hold");
                ExitCode::SUCCESS
            } else {
                for v in &r.violations {
                    println!("VIOLATION: {v}");
                }
                println!("ftf-check: {} violation(s)", r.violations.len());
                ExitCode::from(1)
            }
        }
        other => {
            eprintln!("ftf-check: unknown command {other}");
            ExitCode::from(2)
        }
    }
}
