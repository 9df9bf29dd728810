//! The SVG chart of ours/peer: one group of bars per operation, one bar per
//! backend and store (plain and typed), and a line at 1.0, above which ours
//! is the faster.
//!
//! It is drawn with plotters' SVG backend and its built-in font estimate:
//! the SVG holds `<text>` elements that the viewer's fonts render, so the
//! chart builds and draws with cargo alone, on a machine without fonts.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::cli::BackendKind;
use crate::contender::names;
use crate::measure::Op;
use crate::report::ratio_of;
use crate::runner::{BackendReport, Row};
use crate::BenchResult;

/// The task count the chart shows, where an operation was timed at it; the
/// nearest one otherwise (`delete_expired` is one call).
pub const CHART_TASKS: usize = 8;

/// The chart's size in pixels.
const SIZE: (u32, u32) = (1_200, 560);

/// One bar: a backend's ratio of one of ours over the peer.
struct Bar {
    backend: usize,
    store: Store,
    ratio: f64,
}

/// Which of ours a bar shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Store {
    Plain,
    Typed,
}

impl Store {
    const BOTH: [Store; 2] = [Store::Plain, Store::Typed];

    fn contender(self) -> &'static str {
        match self {
            Store::Plain => names::OURS_PLAIN,
            Store::Typed => names::OURS_TYPED,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Store::Plain => "plain",
            Store::Typed => "typed",
        }
    }
}

/// The bars of one operation.
struct Group {
    op: Op,
    bars: Vec<Bar>,
}

/// The small-payload line of `op` whose task count is nearest
/// [`CHART_TASKS`].
fn chart_row(report: &BackendReport, op: Op) -> Option<&Row> {
    report
        .rows
        .iter()
        .filter(|row| row.op == op && row.payload == "small")
        .min_by_key(|row| row.tasks.abs_diff(CHART_TASKS))
}

/// Every operation with a peer figure on some backend, and its bars.
fn groups(reports: &[BackendReport]) -> Vec<Group> {
    Op::ALL
        .into_iter()
        .map(|op| Group {
            op,
            bars: reports
                .iter()
                .enumerate()
                .flat_map(|(backend, report)| {
                    let row = chart_row(report, op);
                    let figure = move |name: &str| row.and_then(|row| report.figure(row, name));
                    Store::BOTH.into_iter().filter_map(move |store| {
                        Some(Bar {
                            backend,
                            store,
                            ratio: ratio_of(figure(store.contender()), figure(names::PEER))?,
                        })
                    })
                })
                .collect(),
        })
        .filter(|group| !group.bars.is_empty())
        .collect()
}

/// The colour of a backend's bars, the same whichever backends ran: full
/// for typed, pale for plain.
fn colour(backend: BackendKind, store: Store) -> RGBAColor {
    let colour = match backend {
        BackendKind::Sqlite => RGBColor(31, 119, 180),
        BackendKind::Postgres => RGBColor(44, 160, 44),
        BackendKind::Mysql => RGBColor(255, 127, 14),
    };
    match store {
        Store::Typed => colour.to_rgba(),
        Store::Plain => colour.mix(0.45),
    }
}

/// Writes the chart of `reports` to `path`, creating its folder.
pub fn write(reports: &[BackendReport], path: &Path) -> BenchResult<()> {
    let groups = groups(reports);
    if groups.is_empty() {
        return Err("no operation has both ours and the peer to chart".into());
    }
    if let Some(folder) = path
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
    {
        std::fs::create_dir_all(folder)?;
    }
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let highest = groups
        .iter()
        .flat_map(|group| group.bars.iter().map(|bar| bar.ratio))
        .fold(1.0_f64, f64::max);
    let group_count = groups.len() as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "ours / peer, operations per second (small payload, {CHART_TASKS} tasks; delete_expired: one call); above 1.0 ours is faster"
            ),
            ("sans-serif", 24),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(64)
        // Headroom above the highest bar for the legend, which would
        // otherwise cover the bars of the last groups.
        .build_cartesian_2d(0.0..group_count, 0.0..highest * 1.5)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .x_labels(0)
        .y_labels(12)
        .y_label_style(("sans-serif", 16))
        .y_desc("ours / peer")
        .axis_desc_style(("sans-serif", 16))
        .draw()?;

    // Each group is one unit wide: bars fill its middle 80 %.
    let slots = reports.len() * Store::BOTH.len();
    let bar_width = 0.8 / slots as f64;
    for (backend, report) in reports.iter().enumerate() {
        for store in Store::BOTH {
            let style = colour(report.kind, store).filled();
            let rectangles = groups.iter().enumerate().flat_map(|(index, group)| {
                group
                    .bars
                    .iter()
                    .filter(move |bar| bar.backend == backend && bar.store == store)
                    .map(move |bar| {
                        let slot = backend * Store::BOTH.len() + usize::from(store == Store::Typed);
                        let left = index as f64 + 0.1 + slot as f64 * bar_width;
                        Rectangle::new([(left, 0.0), (left + bar_width, bar.ratio)], style)
                    })
            });
            chart
                .draw_series(rectangles)?
                .label(format!("{} {}", report.kind, store.label()))
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], style));
        }
    }
    chart.draw_series(LineSeries::new(
        [(0.0, 1.0), (group_count, 1.0)],
        BLACK.stroke_width(2),
    ))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()?;

    // The operations' names under their groups, where the x axis would
    // put numbers.
    let label_style = ("sans-serif", 18)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    for (index, group) in groups.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(index as f64 + 0.5, 0.0));
        root.draw(&Text::new(
            group.op.label(),
            (x, y + 8),
            label_style.clone(),
        ))?;
    }
    root.present()?;
    Ok(())
}
