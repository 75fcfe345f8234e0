//! `ddb-bench plot`: an SVG bar chart of a report's runs (and a peers file's): MB/s of item
//! JSON per stage on top, peak RSS per stage below, bars grouped by stage, one bar per
//! engine/backend, each labelled with its value.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::Result;
use super::report::{Report, Run};

/// Stages in the order they are drawn (others follow, in the order they first appear).
const STAGE_ORDER: [&str; 4] = [
    "backup",
    "restore_active",
    "restore_gsi_active",
    "restore_lsi_gsi_sort",
];
const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(23, 66, 122),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(127, 127, 127),
];
const WIDTH: u32 = 1000;
const HEIGHT: u32 = 760;

/// A bar series: one engine on one backend.
fn series_name(run: &Run) -> String {
    if run.backend.is_empty() {
        run.engine.clone()
    } else {
        format!("{} ({})", run.engine, run.backend)
    }
}

fn plot_error<E: std::fmt::Debug>(e: E) -> super::Error {
    format!("plot: {e:?}").into()
}

/// A bar's value, with about three significant digits.
fn label_of(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Writes the chart of `report`'s runs and `peers`' to `svg`.
pub fn plot(report: &Report, peers: Option<&[Run]>, svg: &Path) -> Result<()> {
    let runs: Vec<&Run> = report
        .runs
        .iter()
        .chain(peers.into_iter().flatten())
        .collect();
    let mut stages: Vec<String> = STAGE_ORDER
        .iter()
        .filter(|s| runs.iter().any(|r| r.stage == **s))
        .map(|s| (*s).to_owned())
        .collect();
    let mut series: Vec<String> = Vec::new();
    for run in &runs {
        if !stages.contains(&run.stage) {
            stages.push(run.stage.clone());
        }
        let name = series_name(run);
        if !series.contains(&name) {
            series.push(name);
        }
    }
    let w = &report.workload;
    let title = format!(
        "{} — {} rows, {:.0} MB of item JSON at the cut ({} items + {} mutations)",
        report.harness,
        w.rows_at_cut,
        super::f64_of(w.item_bytes_at_cut) / 1e6,
        w.items,
        w.mutations
    );
    let root = SVGBackend::new(svg, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let root = root
        .titled(&title, ("sans-serif", 18))
        .map_err(plot_error)?;
    let (top, bottom) = root.split_vertically(HEIGHT * 11 / 20);
    panel(&top, &runs, &stages, &series, "MB/s of item JSON", |r| {
        Some(r.mb_per_s)
    })?;
    panel(&bottom, &runs, &stages, &series, "peak RSS (MB)", |r| {
        (r.peak_rss_mb > 0.0).then_some(r.peak_rss_mb)
    })?;
    root.present().map_err(plot_error)?;
    Ok(())
}

/// One panel: `value` of each run as bars grouped by stage.
fn panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    runs: &[&Run],
    stages: &[String],
    series: &[String],
    label: &str,
    value: impl Fn(&Run) -> Option<f64>,
) -> Result<()> {
    let max = runs
        .iter()
        .filter_map(|r| value(r))
        .fold(0.0f64, f64::max)
        .max(1.0);
    let groups = super::f64_of(stages.len().max(1) as u64);
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(64)
        .build_cartesian_2d(0f64..groups, 0f64..max * 1.4)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc(label)
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(plot_error)?;
    // Which series have a bar in each stage: bars of a group share its width.
    let present = |stage: &str| -> Vec<&String> {
        series
            .iter()
            .filter(|s| {
                runs.iter()
                    .any(|r| r.stage == stage && series_name(r) == **s && value(r).is_some())
            })
            .collect()
    };
    for (color, name) in COLORS.iter().cycle().zip(series) {
        let mut bars = Vec::new();
        let mut labels = Vec::new();
        for (group, stage) in stages.iter().enumerate() {
            let members = present(stage);
            let Some(slot) = members.iter().position(|m| *m == name) else {
                continue;
            };
            let Some(v) = runs
                .iter()
                .find(|r| r.stage == *stage && series_name(r) == *name)
                .and_then(|r| value(r))
            else {
                continue;
            };
            let width = 0.8 / super::f64_of(members.len() as u64);
            let x0 = super::f64_of(group as u64) + 0.1 + width * super::f64_of(slot as u64);
            bars.push(Rectangle::new(
                [(x0 + width * 0.05, 0.0), (x0 + width * 0.95, v)],
                color.filled(),
            ));
            labels.push(Text::new(
                label_of(v),
                (x0 + width / 2.0, v),
                ("sans-serif", 12)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Bottom)),
            ));
        }
        let legend = *color;
        chart
            .draw_series(bars)
            .map_err(plot_error)?
            .label(name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], legend.filled()));
        chart.draw_series(labels).map_err(plot_error)?;
    }
    // Stage names under their groups.
    let style = ("sans-serif", 14)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    // `backend_coord` is in the whole image's pixels, `area.draw` in the area's.
    let (base_x, base_y) = area.get_base_pixel();
    for (group, stage) in stages.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(super::f64_of(group as u64) + 0.5, 0.0));
        let at = (x - base_x, y - base_y + 6);
        area.draw(&Text::new(stage.clone(), at, style.clone()))
            .map_err(plot_error)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.9))
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(plot_error)?;
    Ok(())
}

/// `ddb-bench plot`: the chart of `report` (and `peers`, when given) in `svg`.
pub fn plot_files(report: &Path, peers: Option<&Path>, svg: &Path) -> Result<()> {
    let report = super::report::read(report)?;
    let peers = match peers {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let peers: super::report::Peers =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            Some(peers.runs)
        }
        None => None,
    };
    plot(&report, peers.as_deref(), svg)
}
