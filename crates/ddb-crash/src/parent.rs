//! The parent: runs generations of the child, kills each at a seeded point with SIGKILL,
//! feeds every line the child printed into the model, and checks the database after each.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::check::{CheckCounts, check};
use crate::model::Model;
use crate::protocol::{Line, parse_line};
use crate::rng::Rng;

/// Ops a killed child is given (it is killed long before).
const KILLED_CHILD_OPS: u64 = 1_000_000;

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The `ddb-crash-loop` binary (the parent spawns itself).
    pub exe: PathBuf,
    pub dir: PathBuf,
    pub seed: u64,
    pub kills: u64,
    /// Stop killing after this many seconds (then the final generation runs).
    pub max_seconds: Option<u64>,
    /// Ops of the final (unkilled) generation before its waits.
    pub final_ops: u64,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    pub kills: u64,
    pub checks: u64,
    pub counts: CheckCounts,
    pub acks: u64,
    pub refusals: u64,
    pub seconds: f64,
    /// Kills by what the child was doing: the op in flight (`put`, `backup`, `wait restore`,
    /// …), `open` (before OPENED) or `between ops`.
    pub kills_by_phase: std::collections::BTreeMap<String, u64>,
}

impl RunSummary {
    /// What the kills hit, as one line.
    pub fn phases_line(&self) -> String {
        let phases: Vec<String> = self
            .kills_by_phase
            .iter()
            .map(|(phase, n)| format!("{phase} {n}"))
            .collect();
        format!("kills by phase: {}", phases.join(", "))
    }

    /// The closing line.
    pub fn line(&self) -> String {
        let c = &self.counts;
        format!(
            "crash loop: {} kills, {} checks passed, 0 failed (writes checked {}, backups verified {}, \
             restores compared {}, pitr compared {}, index checks {}, pending resolved {}; {} acks, \
             {} refusals, {:.1} s)",
            self.kills,
            self.checks,
            c.writes,
            c.backups_verified,
            c.restores_compared,
            c.pitr_compared,
            c.index_checks,
            c.pending_resolved,
            self.acks,
            self.refusals,
            self.seconds
        )
    }
}

/// Where a child is killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillAt {
    /// Right after START: during Database::open (recovery, resuming jobs).
    DuringOpen { spins: u64 },
    /// Right after OPENED: background workers just started.
    AfterOpen { spins: u64 },
    /// After the n-th ACK (n ≥ 1).
    AfterAcks { acks: u64, spins: u64 },
}

impl KillAt {
    pub fn draw(rng: &mut Rng) -> KillAt {
        let spins = if rng.percent(30) {
            0
        } else {
            1u64 << rng.below(21)
        };
        match rng.below(100) {
            0..=9 => KillAt::DuringOpen {
                spins: 1u64 << rng.below(24),
            },
            10..=19 => KillAt::AfterOpen { spins },
            20..=44 => KillAt::AfterAcks {
                acks: rng.range(1, 3),
                spins,
            },
            45..=74 => KillAt::AfterAcks {
                acks: rng.range(4, 60),
                spins,
            },
            _ => KillAt::AfterAcks {
                acks: rng.range(60, 400),
                spins,
            },
        }
    }

    fn spins(self) -> u64 {
        match self {
            KillAt::DuringOpen { spins }
            | KillAt::AfterOpen { spins }
            | KillAt::AfterAcks { spins, .. } => spins,
        }
    }

    fn due(self, line: &Line, acks: u64) -> bool {
        match (self, line) {
            (KillAt::DuringOpen { .. }, Line::Start { .. }) => true,
            (KillAt::AfterOpen { .. }, Line::Opened) => true,
            (KillAt::AfterAcks { acks: n, .. }, Line::Ack { .. }) => acks >= n,
            _ => false,
        }
    }

    pub fn describe(self) -> String {
        match self {
            KillAt::DuringOpen { spins } => format!("during open (+{spins} spins)"),
            KillAt::AfterOpen { spins } => format!("right after open (+{spins} spins)"),
            KillAt::AfterAcks { acks, spins } => format!("after {acks} ACKs (+{spins} spins)"),
        }
    }
}

/// Runs the loop; `log` gets the seed, a line per generation and the summary.
pub fn run(options: &RunOptions, log: &mut dyn Write) -> Result<RunSummary, String> {
    let started = Instant::now();
    let say = |log: &mut dyn Write, line: &str| {
        let _ = writeln!(log, "{line}");
        let _ = log.flush();
    };
    say(log, &format!("seed = {}", options.seed));
    prepare_dir(&options.dir)?;
    let io = crate::io_from_env()?;
    let mut rng = Rng::derive(options.seed, 0);
    let mut model = Model::default();
    let mut summary = RunSummary::default();
    let mut generation = 0;
    loop {
        let out_of_time = options
            .max_seconds
            .is_some_and(|max| started.elapsed().as_secs() >= max);
        let final_run = summary.kills >= options.kills || out_of_time;
        let plan = (!final_run).then(|| KillAt::draw(&mut rng));
        let gen_started = Instant::now();
        model.new_generation();
        let outcome = run_generation(options, generation, plan, &mut model)
            .map_err(|e| failure(options, generation, plan, &e))?;
        if outcome.killed {
            summary.kills += 1;
            *summary.kills_by_phase.entry(outcome.phase()).or_default() += 1;
        }
        let report = check(&io, &options.dir, &mut model, final_run).map_err(|e| {
            let in_flight = outcome
                .in_flight
                .as_ref()
                .map(|b| format!(" [in flight at the kill: {b}]"))
                .unwrap_or_default();
            failure(options, generation, plan, &format!("{e}{in_flight}"))
        })?;
        summary.checks += 1;
        summary.counts.add(&report.counts);
        if outcome.killed {
            // Background work the kill interrupted (still unfinished at the check).
            for (unfinished, phase) in [
                (report.counts.backups_creating, "(bg) backup build"),
                (report.counts.restores_creating, "(bg) restore job"),
                (report.counts.indexes_backfilling, "(bg) gsi backfill"),
            ] {
                if unfinished > 0 {
                    *summary.kills_by_phase.entry(phase.to_owned()).or_default() += 1;
                }
            }
        }
        let c = report.counts;
        say(
            log,
            &format!(
                "gen {generation}: {} — {} ACKs{}{}; checked {} items, {} backups (+{} creating), \
                 {} restores + {} pitr (+{} creating), {} indexes (+{} backfilling); {:.2} s",
                match plan {
                    Some(p) if outcome.killed => format!("killed {}", p.describe()),
                    Some(_) => "ended before its kill point".to_owned(),
                    None => "final run to a clean end".to_owned(),
                },
                outcome.acks,
                outcome
                    .in_flight
                    .map(|b| format!(", in flight: {b}"))
                    .unwrap_or_default(),
                report
                    .resolution
                    .map(|r| format!(", resolved: {r}"))
                    .unwrap_or_default(),
                c.writes,
                c.backups_verified,
                c.backups_creating,
                c.restores_compared,
                c.pitr_compared,
                c.restores_creating,
                c.index_checks,
                c.indexes_backfilling,
                gen_started.elapsed().as_secs_f64()
            ),
        );
        generation += 1;
        if final_run {
            break;
        }
    }
    summary.acks = model.acks;
    summary.refusals = model.refusals;
    summary.seconds = started.elapsed().as_secs_f64();
    say(log, &summary.phases_line());
    say(log, &summary.line());
    Ok(summary)
}

fn failure(options: &RunOptions, generation: u64, plan: Option<KillAt>, e: &str) -> String {
    format!(
        "CHECK FAILED at generation {generation} ({}): {e}\n  replay: ddb-crash-loop run --dir <empty dir> \
         --seed {} --kills {}   (child stderr: {})",
        plan.map_or_else(|| "final run".to_owned(), KillAt::describe),
        options.seed,
        options.kills,
        stderr_path(&options.dir).display()
    )
}

/// The database directory must be new (the model starts empty).
fn prepare_dir(dir: &Path) -> Result<(), String> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if entries.next().is_some() {
            return Err(format!(
                "{} is not empty: the crash loop needs a new directory (its model starts empty)",
                dir.display()
            ));
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))
}

/// The children's stderr, appended to beside the database directory.
pub fn stderr_path(dir: &Path) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(".child-stderr");
    dir.with_file_name(name)
}

struct GenerationOutcome {
    killed: bool,
    opened: bool,
    acks: u64,
    /// The BEGIN without an ACK when the child died.
    in_flight: Option<String>,
}

impl GenerationOutcome {
    fn phase(&self) -> String {
        match &self.in_flight {
            // "<seq> <kind> …", and for waits "<seq> wait <what> …".
            Some(op) => {
                let words: Vec<&str> = op.split(' ').skip(1).take(2).collect();
                match words.as_slice() {
                    ["wait", what] => format!("wait {what}"),
                    [kind, ..] => (*kind).to_owned(),
                    [] => "?".to_owned(),
                }
            }
            None if !self.opened => "open".to_owned(),
            None => "between ops".to_owned(),
        }
    }
}

fn run_generation(
    options: &RunOptions,
    generation: u64,
    plan: Option<KillAt>,
    model: &mut Model,
) -> Result<GenerationOutcome, String> {
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(stderr_path(&options.dir))
        .map_err(|e| format!("child stderr file: {e}"))?;
    let mut command = Command::new(&options.exe);
    command
        .arg("child")
        .arg("--dir")
        .arg(&options.dir)
        .arg("--seed")
        .arg(options.seed.to_string())
        .arg("--generation")
        .arg(generation.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr);
    match plan {
        Some(_) => command.arg("--ops").arg(KILLED_CHILD_OPS.to_string()),
        None => command
            .arg("--ops")
            .arg(options.final_ops.to_string())
            .arg("--final"),
    };
    let mut child = command
        .spawn()
        .map_err(|e| format!("spawn {}: {e}", options.exe.display()))?;
    let stdout = child.stdout.take().ok_or("no child stdout")?;
    let mut reader = BufReader::new(stdout);
    let mut outcome = GenerationOutcome {
        killed: false,
        opened: false,
        acks: 0,
        in_flight: None,
    };
    let mut fatal = None;
    let mut done = false;
    let mut buf = Vec::new();
    let result = loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => break Ok(()),
            Ok(_) => {}
            Err(e) => break Err(format!("reading the child's stdout: {e}")),
        }
        if buf.last() != Some(&b'\n') {
            // Cut by the kill while printing: not printed. Without a kill it is an error.
            if outcome.killed {
                break Ok(());
            }
            break Err(format!(
                "the child's output ended mid-line: {:?}",
                String::from_utf8_lossy(&buf)
            ));
        }
        let text = String::from_utf8_lossy(buf.strip_suffix(b"\n").unwrap_or(&buf)).into_owned();
        let line = match parse_line(&text) {
            Ok(line) => line,
            Err(e) => break Err(e),
        };
        if let Err(e) = model.line(&line) {
            break Err(format!("protocol: {e}"));
        }
        match &line {
            Line::Ack { .. } => outcome.acks += 1,
            Line::Fatal(message) => fatal = Some(message.clone()),
            Line::Done => done = true,
            Line::Opened => outcome.opened = true,
            _ => {}
        }
        if let Some(plan) = plan
            && !outcome.killed
            && plan.due(&line, outcome.acks)
        {
            spin(plan.spins());
            // SIGKILL; keep reading what it printed before it died.
            child.kill().map_err(|e| format!("kill: {e}"))?;
            outcome.killed = true;
        }
    };
    if result.is_err() && !outcome.killed {
        let _ = child.kill();
    }
    let status = child.wait().map_err(|e| format!("wait: {e}"))?;
    result?;
    outcome.in_flight = model
        .pending
        .as_ref()
        .map(|p| format!("{} {}", p.seq, p.op.summary()));
    if let Some(message) = fatal {
        return Err(format!("the child failed: {message}"));
    }
    if !outcome.killed && (!status.success() || !done) {
        return Err(format!(
            "the child (generation {generation}) ended by itself with {status} without DONE"
        ));
    }
    Ok(outcome)
}

/// Busy-waits `spins` iterations (the kill's extra delay; no sleep).
fn spin(spins: u64) {
    let mut n = 0u64;
    while n < spins {
        std::hint::spin_loop();
        n = std::hint::black_box(n + 1);
    }
}
