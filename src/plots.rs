//! PNG figures: learning curves, decision maps, spike-time histograms and rasters, confusion
//! matrices and a generic line chart.
//!
//! Rendering is pure Rust and needs no system library: [`plotters`] lays out and draws the
//! charts (captions, axes, ticks, log scales, legends, error bars, histograms) into an RGB
//! buffer, text is rasterised with `ab_glyph` from a font embedded in the binary (Ubuntu Light,
//! from the `epaint_default_fonts` crate, Ubuntu Font Licence 1.0), and the `png` crate encodes
//! the buffer.
//!
//! Every figure is written atomically: it is encoded into a temporary file in the target's
//! directory (created if missing) and then renamed over the target, so a reader never sees a
//! half-written PNG.
//!
//! Bad input (empty data, mismatched lengths) gives [`Error::InvalidConfig`]; failures to
//! render or write give [`Error::Io`] on the target path.

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::fs;
use std::io;
use std::path::Path;
use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, Glyph, PxScale, ScaleFont};
use plotters::coord::combinators::WithKeyPoints;
use plotters::coord::ranged1d::{BoldPoints, ValueFormatter};
use plotters::coord::types::{RangedCoordf64, RangedCoordu32};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters_backend::{BackendColor, BackendCoord, BackendTextStyle, DrawingErrorKind};

use crate::{Error, Result};

/// One epoch of a training run, as drawn by [`learning_curves`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    /// Epoch number (x axis).
    pub epoch: usize,
    /// Mean training loss of the epoch.
    pub train_loss: f64,
    /// Validation loss after the epoch.
    pub val_loss: f64,
    /// Training accuracy, a fraction in `[0, 1]`.
    pub train_accuracy: f64,
    /// Validation accuracy, a fraction in `[0, 1]`.
    pub val_accuracy: f64,
}

/// Writes a two-panel figure: loss (log y axis when every finite loss is positive) and
/// accuracy in percent, each with a training and a validation curve and a legend.
///
/// Rows are drawn in epoch order; non-finite values are skipped (the curve has a gap there).
pub fn learning_curves(path: &Path, rows: &[CurvePoint]) -> Result<()> {
    check_path(path)?;
    if rows.is_empty() {
        return Err(invalid("learning_curves: no rows"));
    }
    let mut rows = rows.to_vec();
    rows.sort_by_key(|r| r.epoch);
    let (e_min, e_max) = finite_range(rows.iter().map(|r| r.epoch as f64)).unwrap_or((0.0, 1.0));
    let pad = if e_max > e_min {
        0.02 * (e_max - e_min)
    } else {
        0.5
    };
    let x = Axis {
        integer: true,
        ..Axis::linear(e_min - pad, e_max + pad)
    };

    let losses = rows.iter().flat_map(|r| [r.train_loss, r.val_loss]);
    let loss_axis = match finite_range(losses) {
        Some((lo, hi)) => Axis::padded(lo, hi, lo > 0.0),
        None => Axis::linear(0.0, 1.0),
    };
    let accuracies = rows
        .iter()
        .flat_map(|r| [r.train_accuracy, r.val_accuracy])
        .map(|a| 100.0 * a);
    let acc_axis = match finite_range(accuracies) {
        Some((lo, hi)) => {
            // Stay within [0, 101] unless the data do not.
            let pad = (0.08 * (hi - lo)).max(2.0);
            let bottom = if lo >= 0.0 {
                (lo - pad).max(0.0)
            } else {
                lo - pad
            };
            let top = if hi <= 100.0 {
                (hi + pad).min(101.0)
            } else {
                hi + pad
            };
            Axis::linear(bottom, top)
        }
        None => Axis::linear(0.0, 100.0),
    };

    let markers = rows.len() <= 40;
    let curve = |name, color, value: fn(&CurvePoint) -> f64| Series {
        name,
        color,
        points: rows.iter().map(|r| (r.epoch as f64, value(r))).collect(),
        markers,
        errors: None,
    };
    let loss_series = [
        curve("train", PALETTE[0], |r| r.train_loss),
        curve("validation", PALETTE[1], |r| r.val_loss),
    ];
    let acc_series = [
        curve("train", PALETTE[0], |r| 100.0 * r.train_accuracy),
        curve("validation", PALETTE[1], |r| 100.0 * r.val_accuracy),
    ];

    render_png(path, (1400, 560), |root| {
        let (left, right) = root.split_horizontally(700);
        let frame = |title, y_desc, y| Frame {
            title,
            x_desc: "epoch",
            y_desc,
            x: &x,
            y,
        };
        draw_xy_panel(&left, &frame("Loss", "loss", &loss_axis), &loss_series)?;
        draw_xy_panel(
            &right,
            &frame("Accuracy", "accuracy (%)", &acc_axis),
            &acc_series,
        )
    })
}

/// Writes a scatter plot of 2-D samples (x right, y up, equal aspect; the unit square unless
/// points lie outside it), each point coloured by its predicted class (0 blue, 1 orange,
/// 2 green, further classes further colours; `None`, no output spike, grey). Points whose
/// prediction is not `Some(label)` get a black ring. The title is followed by the accuracy.
///
/// `points`, `labels` and `predicted` must have the same, non-zero length. Points with a
/// non-finite coordinate count towards the accuracy but are not drawn.
pub fn decision_map(
    path: &Path,
    points: &[(f64, f64)],
    labels: &[usize],
    predicted: &[Option<usize>],
    title: &str,
) -> Result<()> {
    check_path(path)?;
    if points.is_empty() {
        return Err(invalid("decision_map: no points"));
    }
    if labels.len() != points.len() || predicted.len() != points.len() {
        return Err(invalid(format!(
            "decision_map: {} points, {} labels and {} predictions; the lengths must match",
            points.len(),
            labels.len(),
            predicted.len()
        )));
    }
    let n = points.len();
    let wrong = |i: usize| predicted[i] != Some(labels[i]);
    let errors = (0..n).filter(|&i| wrong(i)).count();
    let correct = n - errors;
    let silent = predicted.iter().filter(|p| p.is_none()).count();
    let accuracy = 100.0 * correct as f64 / n as f64;
    let heading = if title.is_empty() {
        format!("accuracy {accuracy:.1} % ({correct}/{n})")
    } else {
        format!("{title} · accuracy {accuracy:.1} % ({correct}/{n})")
    };
    // Predictions per class, for every class that is a label or a prediction.
    let mut per_class: BTreeMap<usize, usize> = labels.iter().map(|&l| (l, 0)).collect();
    for &p in predicted.iter().flatten() {
        *per_class.entry(p).or_default() += 1;
    }

    // Square data range covering the unit square and every finite point.
    let (x0, x1) = finite_range(points.iter().map(|p| p.0).chain([0.0, 1.0])).unwrap_or((0.0, 1.0));
    let (y0, y1) = finite_range(points.iter().map(|p| p.1).chain([0.0, 1.0])).unwrap_or((0.0, 1.0));
    let half = 0.5 * (x1 - x0).max(y1 - y0) * 1.03;
    let (cx, cy) = (0.5 * (x0 + x1), 0.5 * (y0 + y1));
    let x_axis = Axis::linear(cx - half, cx + half);
    let y_axis = Axis::linear(cy - half, cy + half);
    let frame = Frame {
        title: &heading,
        x_desc: "x",
        y_desc: "y",
        x: &x_axis,
        y: &y_axis,
    };
    let drawable = |i: &usize| points[*i].0.is_finite() && points[*i].1.is_finite();

    // The plot is a square of PLOT pixels, with the legend in its own area to the right.
    const PLOT: u32 = 600;
    const LEGEND_W: u32 = 240;
    let layout = ChartLayout::of(&frame, TITLE_PX);
    let chart_w = layout.left + PLOT + layout.right;
    let height = layout.top + PLOT + layout.bottom + BOTTOM_PAD;
    render_png(path, (chart_w + LEGEND_W, height), |root| {
        let (chart_area, legend_area) = root.split_horizontally(chart_w);
        let x = x_axis.linear_coord();
        let mut chart = build_chart(&chart_area, &frame, &layout, x, y_axis.linear_coord())?;
        // Correctly classified points first, then every misclassified one on top with its ring.
        let (ok, misclassified): (Vec<usize>, Vec<usize>) =
            (0..n).filter(drawable).partition(|&i| !wrong(i));
        let dots = |set: &[usize]| -> Vec<Circle<(f64, f64), i32>> {
            let dot = |i: &usize| Circle::new(points[*i], 3, class_color(predicted[*i]).filled());
            set.iter().map(dot).collect()
        };
        chart.draw_series(dots(&ok))?;
        chart.draw_series(dots(&misclassified))?;
        let ring = |i: &usize| Circle::new(points[*i], 6, BLACK.stroke_width(1));
        chart.draw_series(misclassified.iter().map(ring))?;

        let mut legend: Vec<(String, ShapeStyle, i32)> = per_class
            .iter()
            .map(|(&c, count)| {
                let text = format!("predicted {c} ({count})");
                (text, class_color(Some(c)).filled(), 5)
            })
            .collect();
        legend.push((format!("no spike ({silent})"), SILENT_GREY.filled(), 5));
        let ring = BLACK.stroke_width(1);
        legend.push((format!("misclassified ({errors})"), ring, 7));
        let mut key = ChartBuilder::on(&legend_area)
            .margin_top(layout.top)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
        for (text, style, radius) in legend {
            key.draw_series(no_points())?
                .label(text)
                .legend(move |(x, y)| Circle::new((x + LEGEND_MARK / 2, y), radius, style));
        }
        draw_legend(&mut key, SeriesLabelPosition::UpperLeft, false)
    })
}

/// Writes one histogram panel per `(name, times)` pair, all with the same bins over the
/// finite spike times of every panel. `+inf` (no spike) is not binned; each panel's title
/// says which share of its values is silent ("12 % silent (37 of 300)"). NaN and `-inf` are
/// ignored except for a count in the title.
///
/// `panels` must not be empty, and no panel may have zero values.
pub fn spike_time_histograms(path: &Path, panels: &[(&str, &[f64])]) -> Result<()> {
    check_path(path)?;
    if panels.is_empty() {
        return Err(invalid("spike_time_histograms: no panels"));
    }
    if let Some((name, _)) = panels.iter().find(|(_, t)| t.is_empty()) {
        return Err(invalid(format!(
            "spike_time_histograms: panel `{name}` has no values"
        )));
    }
    let all = panels.iter().flat_map(|(_, t)| t.iter().copied());
    let (lo, hi) = match finite_range(all) {
        Some((lo, hi)) if hi > lo => (lo, hi),
        Some((v, _)) => (v - 0.5, v + 0.5),
        None => (0.0, 1.0),
    };
    let largest = panels
        .iter()
        .map(|(_, t)| t.iter().filter(|v| v.is_finite()).count())
        .max()
        .unwrap_or(0);
    // Rice rule, bounded; the bins span the padded axis so every finite time lies inside.
    let bins = ((2.0 * (largest as f64).cbrt()).ceil() as usize).clamp(10, 60);
    let pad = 0.02 * (hi - lo);
    let x_axis = Axis::linear(lo - pad, hi + pad);
    let width = (x_axis.hi - x_axis.lo) / bins as f64;
    let bin_of = |t: f64| (((t - x_axis.lo) / width).floor().max(0.0) as usize).min(bins - 1);

    let titles: Vec<String> = panels
        .iter()
        .map(|(name, times)| {
            let silent = times.iter().filter(|&&t| t == f64::INFINITY).count();
            let invalid = times
                .iter()
                .filter(|t| !t.is_finite() && **t != f64::INFINITY)
                .count();
            let total = times.len();
            let pct = 100.0 * silent as f64 / total as f64;
            let pct = if silent > 0 && pct < 0.5 {
                "<1".to_string()
            } else if silent < total && pct > 99.5 {
                ">99".to_string()
            } else {
                format!("{pct:.0}")
            };
            let mut title = format!("{name}: {pct} % silent ({silent} of {total})");
            if invalid > 0 {
                title.push_str(&format!(", {invalid} NaN ignored"));
            }
            title
        })
        .collect();

    let cols = if panels.len() <= 3 { 1 } else { 2 };
    let rows = panels.len().div_ceil(cols);
    let (panel_w, panel_h) = (if cols == 1 { 900 } else { 700 }, 300);
    let size = (panel_w * cols as u32, panel_h * rows as u32);
    render_png(path, size, |root| {
        let areas = root.split_evenly((rows, cols));
        for (k, ((_, times), area)) in panels.iter().zip(&areas).enumerate() {
            let finite = || times.iter().copied().filter(|t| t.is_finite());
            let mut counts = vec![0usize; bins];
            finite().for_each(|t| counts[bin_of(t)] += 1);
            let max = counts.iter().copied().max().unwrap_or(0).max(1);
            let y_axis = Axis {
                integer: true,
                ..Axis::linear(0.0, (max as f64 * 1.08).ceil())
            };
            let frame = Frame {
                title: &titles[k],
                x_desc: "spike time",
                y_desc: "count",
                x: &x_axis,
                y: &y_axis,
            };
            let y_top = y_axis.hi as u32;
            // plotters bins by a discrete x axis (the bin edges), set as a secondary axis over
            // the same pixels as the drawn one; the grid holds one edge past the last bin.
            let edges = (x_axis.lo..x_axis.hi + width).step(width).use_floor();
            let layout = ChartLayout::of(&frame, TITLE_PX);
            let y_coord = RangedCoordu32::from(0..y_top);
            let chart = build_chart(area, &frame, &layout, x_axis.linear_coord(), y_coord)?;
            let mut chart = chart.set_secondary_coord(edges, 0..y_top);
            let color = PALETTE[k % PALETTE.len()];
            for style in [color.mix(0.75).filled(), color.stroke_width(1)] {
                let bars = Histogram::vertical(chart.borrow_secondary())
                    .style(style)
                    .margin(0)
                    .data(finite().map(|t| (t, 1)));
                chart.draw_series(bars)?;
            }
        }
        Ok(())
    })
}

/// Writes a line chart of several named series with a legend, for benchmark-style plots.
/// With `log_x` the x axis is logarithmic and every finite x must be positive.
///
/// Non-finite points are skipped (the line has a gap there). `series` must not be empty, no
/// series may be empty, and at least one point must be finite.
pub fn line_chart(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(&str, Vec<(f64, f64)>)],
    log_x: bool,
) -> Result<()> {
    xy_chart(
        path,
        title,
        x_label,
        y_label,
        &without_errors(series),
        (log_x, false),
        false,
    )
}

/// Series of `(x, y)` points as error-bar series with zero-length bars.
fn without_errors<'a>(series: &[(&'a str, Vec<(f64, f64)>)]) -> Vec<ErrorSeries<'a>> {
    series
        .iter()
        .map(|(name, p)| (*name, p.iter().map(|&(x, y)| (x, y, 0.0)).collect()))
        .collect()
}

/// [`line_chart`] with a logarithmic y axis as well (every finite y must be positive), for
/// quantities that span orders of magnitude.
pub fn line_chart_log_y(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(&str, Vec<(f64, f64)>)],
    log_x: bool,
) -> Result<()> {
    xy_chart(
        path,
        title,
        x_label,
        y_label,
        &without_errors(series),
        (log_x, true),
        false,
    )
}

/// A named series of `(x, y, error)` points for [`error_bar_chart`].
pub type ErrorSeries<'a> = (&'a str, Vec<(f64, f64, f64)>);

/// A line chart whose points carry vertical error bars: each series is `(x, y, error)` points,
/// drawn from `y - error` to `y + error` (e.g. mean and standard deviation over seeds).
/// Same rules as [`line_chart`]; errors must be finite and non-negative.
pub fn error_bar_chart(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[ErrorSeries<'_>],
    log_x: bool,
) -> Result<()> {
    if let Some((name, _)) = series
        .iter()
        .find(|(_, p)| p.iter().any(|e| !(e.2.is_finite() && e.2 >= 0.0)))
    {
        return Err(invalid(format!(
            "error_bar_chart: series `{name}` has an error bar that is negative or not finite"
        )));
    }
    xy_chart(path, title, x_label, y_label, series, (log_x, false), true)
}

fn xy_chart(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[ErrorSeries<'_>],
    (log_x, log_y): (bool, bool),
    error_bars: bool,
) -> Result<()> {
    check_path(path)?;
    if series.is_empty() {
        return Err(invalid("line_chart: no series"));
    }
    if let Some((name, _)) = series.iter().find(|(_, p)| p.is_empty()) {
        return Err(invalid(format!(
            "line_chart: series `{name}` has no points"
        )));
    }
    let finite_points = || {
        series
            .iter()
            .flat_map(|(_, p)| p.iter())
            .filter(|(x, y, _)| x.is_finite() && y.is_finite())
    };
    if log_x {
        if let Some((x, _, _)) = finite_points().find(|(x, _, _)| *x <= 0.0) {
            return Err(invalid(format!(
                "line_chart: x = {x} cannot be drawn on a log axis"
            )));
        }
    }
    if log_y {
        if let Some((_, y, _)) = finite_points().find(|(_, y, _)| *y <= 0.0) {
            return Err(invalid(format!(
                "line_chart: y = {y} cannot be drawn on a log axis"
            )));
        }
    }
    let (Some((x_lo, x_hi)), Some((y_lo, y_hi))) = (
        finite_range(finite_points().map(|p| p.0)),
        finite_range(finite_points().flat_map(|p| [p.1 - p.2, p.1 + p.2])),
    ) else {
        return Err(invalid("line_chart: no finite point"));
    };
    let x = Axis::padded(x_lo, x_hi, log_x);
    let y = Axis::padded(y_lo, y_hi, log_y);
    let drawn: Vec<Series<'_>> = series
        .iter()
        .enumerate()
        .map(|(k, (name, points))| Series {
            name,
            color: PALETTE[k % PALETTE.len()],
            points: points.iter().map(|&(x, y, _)| (x, y)).collect(),
            markers: points.len() <= 40,
            errors: error_bars.then(|| points.iter().map(|p| p.2).collect()),
        })
        .collect();
    let frame = Frame {
        title,
        x_desc: x_label,
        y_desc: y_label,
        x: &x,
        y: &y,
    };
    render_png(path, (1000, 640), |root| {
        draw_xy_panel(root, &frame, &drawn)
    })
}

/// Confusion matrix: rows = true class, columns = predicted class; an extra last column counts
/// samples with no output spike. Cells shaded by row-normalised count, with the count written in.
///
/// `class_names` must not be empty; `counts` needs one row per class, each with one entry per
/// class plus the no-spike entry.
pub fn confusion_matrix(
    path: &Path,
    counts: &[Vec<usize>],
    class_names: &[String],
    title: &str,
) -> Result<()> {
    check_path(path)?;
    let n = class_names.len();
    if n == 0 {
        return Err(invalid("confusion_matrix: no classes"));
    }
    if counts.len() != n {
        return Err(invalid(format!(
            "confusion_matrix: {} rows of counts for {n} classes",
            counts.len()
        )));
    }
    if let Some((r, row)) = counts.iter().enumerate().find(|(_, r)| r.len() != n + 1) {
        return Err(invalid(format!(
            "confusion_matrix: row {r} has {} counts; {n} classes need {}",
            row.len(),
            n + 1
        )));
    }
    let mut columns: Vec<&str> = class_names.iter().map(String::as_str).collect();
    columns.push("no spike");
    let widest = columns
        .iter()
        .map(|c| text_size(c, TICK_PX).0)
        .fold(0.0, f32::max);
    let cell = (560 / (n as u32 + 1)).clamp(40, 90).max(widest as u32 + 12);
    let count_px = (0.3 * f64::from(cell)).clamp(12.0, 20.0);

    // Cells are unit squares, row r of the matrix at heights [n - 1 - r, n - r]. plotters
    // labels the cell edges (whole numbers); the labels are shifted to the cell centres.
    let cols = n + 1;
    let names = |v: f64, names: &[&str]| {
        let k = v.round();
        (k >= 0.0 && k == v)
            .then(|| names.get(k as usize).map(|s| s.to_string()))
            .flatten()
            .unwrap_or_default()
    };
    let rows: Vec<&str> = columns[..n].iter().rev().copied().collect();
    let x_labels = |v: &f64| names(*v, &columns);
    let y_labels = |v: &f64| names(*v, &rows);

    let (_, tick_h) = text_size("0", TICK_PX);
    let (_, desc_h) = text_size("0", DESC_PX);
    let (_, title_h) = text_size(title, TITLE_PX);
    let left = (desc_h + GAP + widest) as u32 + 2 * TICK + 4;
    let bottom = (tick_h + GAP + desc_h) as u32 + 2 * TICK + 4;
    let top = if title.is_empty() {
        MARGIN
    } else {
        MARGIN + caption_height(title_h)
    };
    let size = (
        left + cell * cols as u32 + 2 * MARGIN,
        top + cell * n as u32 + bottom + BOTTOM_PAD,
    );
    render_png(path, size, |root| {
        let mut builder = ChartBuilder::on(root);
        builder
            .margin_top(MARGIN)
            .margin_bottom(BOTTOM_PAD)
            .margin_right(2 * MARGIN)
            .x_label_area_size(bottom)
            .y_label_area_size(left);
        if !title.is_empty() {
            builder.caption(title, text_style(TITLE_PX));
        }
        let mut chart = builder.build_cartesian_2d(0.0..cols as f64, 0.0..n as f64)?;
        let (w, h) = chart.plotting_area().dim_in_pixel();
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(cols + 1)
            .y_labels(n + 1)
            .x_label_formatter(&x_labels)
            .y_label_formatter(&y_labels)
            .x_label_offset(w as i32 / cols as i32 / 2)
            .y_label_offset(-(h as i32 / n as i32 / 2))
            .x_desc("predicted class")
            .y_desc("true class")
            .label_style(text_style(TICK_PX))
            .axis_desc_style(text_style(DESC_PX))
            .axis_style(BLACK)
            .set_all_tick_mark_size(TICK)
            .draw()?;
        let count_style = text_style(count_px).pos(Pos::new(HPos::Center, VPos::Center));
        for (r, row) in counts.iter().enumerate() {
            let total: usize = row.iter().sum();
            for (c, &count) in row.iter().enumerate() {
                let share = if total > 0 {
                    count as f64 / total as f64
                } else {
                    0.0
                };
                let (x, y) = (c as f64, (n - 1 - r) as f64);
                chart.draw_series([
                    Rectangle::new([(x, y), (x + 1.0, y + 1.0)], shade(share).filled()),
                    Rectangle::new([(x, y), (x + 1.0, y + 1.0)], WHITE.stroke_width(1)),
                ])?;
                let ink = if share > 0.5 { WHITE } else { TEXT };
                chart.draw_series([Text::new(
                    count.to_string(),
                    (x + 0.5, y + 0.5),
                    count_style.color(&ink),
                )])?;
            }
        }
        Ok(())
    })
}

/// One sample of [`spike_raster`]: its caption and the spike times of every layer.
#[derive(Debug, Clone, PartialEq)]
pub struct RasterSample {
    /// Written in the panel title, e.g. "sample 3, class 2".
    pub label: String,
    /// `layers[l][i]` = spike time of neuron `i` of layer `l` (layer 0 = the encoded input);
    /// `+inf` = no spike.
    pub layers: Vec<Vec<f64>>,
}

/// Spike-time raster of a few samples: one panel per sample (a column), one row per layer
/// (input, hidden layers..., output), each dot = (spike time, neuron index); silent neurons
/// (+inf) not drawn. `samples[s].layers[l]` = spike times of layer l for sample s (layer 0 =
/// the encoded input); `samples[s].label` is written in the panel title together with the
/// prediction (the earliest-spiking neuron of the last layer, or "no output spike").
///
/// `samples` and `layer_names` must not be empty, and every sample needs one list of times per
/// layer name. NaN and `-inf` are not drawn either.
pub fn spike_raster(path: &Path, samples: &[RasterSample], layer_names: &[String]) -> Result<()> {
    check_path(path)?;
    if samples.is_empty() {
        return Err(invalid("spike_raster: no samples"));
    }
    if layer_names.is_empty() {
        return Err(invalid("spike_raster: no layers"));
    }
    if let Some(s) = samples.iter().find(|s| s.layers.len() != layer_names.len()) {
        return Err(invalid(format!(
            "spike_raster: sample `{}` has {} layers, but {} layer names are given",
            s.label,
            s.layers.len(),
            layer_names.len()
        )));
    }
    let times = samples
        .iter()
        .flat_map(|s| s.layers.iter().flatten().copied());
    let x_axis = match finite_range(times) {
        Some((lo, hi)) => Axis::padded(lo, hi, false),
        None => Axis::linear(0.0, 1.0),
    };
    let layers = layer_names.len();
    // One neuron axis per layer, shared by all samples.
    let y_axes: Vec<Axis> = (0..layers)
        .map(|l| {
            let neurons = samples.iter().map(|s| s.layers[l].len()).max().unwrap_or(0);
            Axis {
                integer: true,
                ..Axis::linear(-0.5, neurons.max(1) as f64 - 0.5)
            }
        })
        .collect();
    let headings: Vec<String> = samples
        .iter()
        .map(|s| {
            let output = s.layers[layers - 1].iter().enumerate();
            let first = output
                .filter(|(_, t)| t.is_finite())
                .min_by(|a, b| a.1.total_cmp(b.1));
            match first {
                Some((k, _)) => format!("{} · predicted {k}", s.label),
                None => format!("{} · no output spike", s.label),
            }
        })
        .collect();

    let (panel_w, panel_h) = (440, 230);
    let (_, heading_h) = text_size("0", TITLE_PX);
    let heading = caption_height(heading_h);
    let size = (
        panel_w * samples.len() as u32,
        heading + panel_h * layers as u32,
    );
    render_png(path, size, |root| {
        let columns = root.split_evenly((1, samples.len()));
        for ((sample, column), heading) in samples.iter().zip(&columns).zip(&headings) {
            let column = column.titled(heading, text_style(TITLE_PX))?;
            let panels = column.split_evenly((layers, 1));
            for (l, area) in panels.iter().enumerate() {
                let spikes = &sample.layers[l];
                let silent = spikes.iter().filter(|t| **t == f64::INFINITY).count();
                let title = format!("{}: {silent} of {} silent", layer_names[l], spikes.len());
                let frame = Frame {
                    title: &title,
                    x_desc: if l + 1 == layers { "spike time" } else { "" },
                    y_desc: "neuron",
                    x: &x_axis,
                    y: &y_axes[l],
                };
                let layout = ChartLayout::of(&frame, DESC_PX);
                let (x, y) = (x_axis.linear_coord(), y_axes[l].linear_coord());
                let mut chart = build_chart(area, &frame, &layout, x, y)?;
                let radius = if spikes.len() > 100 { 1 } else { 2 };
                let color = PALETTE[l % PALETTE.len()];
                let dots = spikes.iter().enumerate().filter(|(_, t)| t.is_finite());
                chart.draw_series(
                    dots.map(|(i, &t)| Circle::new((t, i as f64), radius, color.filled())),
                )?;
            }
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// Rendering and writing.

type Area<'a> = DrawingArea<Canvas<'a>, Shift>;
type DrawResult<T = ()> = std::result::Result<T, Box<dyn StdError>>;

/// Matplotlib's "tab10" colours: blue, orange, green, red, purple, brown, pink, olive, cyan.
const PALETTE: [RGBColor; 9] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
const SILENT_GREY: RGBColor = RGBColor(150, 150, 150);
const GRID_MAJOR: RGBColor = RGBColor(215, 215, 215);
const GRID_MINOR: RGBColor = RGBColor(240, 240, 240);
const LEGEND_BORDER: RGBColor = RGBColor(170, 170, 170);
const TEXT: RGBColor = RGBColor(20, 20, 20);

/// Text sizes in pixels (ascent to descent).
const TITLE_PX: f64 = 23.0;
const DESC_PX: f64 = 19.0;
const TICK_PX: f64 = 17.0;
const LEGEND_PX: f64 = 17.0;

/// Layout in pixels: tick length, gap between texts, margins around a chart, width of a
/// legend's mark.
const TICK: u32 = 5;
const GAP: f32 = 6.0;
const MARGIN: u32 = 10;
const BOTTOM_PAD: u32 = 6;
const LEGEND_MARK: i32 = 26;

/// Tick labels asked of plotters per axis.
const LABELS: usize = 8;

/// The embedded font: Ubuntu Light (Ubuntu Font Licence 1.0).
const FONT_BYTES: &[u8] = epaint_default_fonts::UBUNTU_LIGHT;

fn class_color(class: Option<usize>) -> RGBColor {
    class.map_or(SILENT_GREY, |c| PALETTE[c % PALETTE.len()])
}

/// White for 0, the palette's blue for 1.
fn shade(share: f64) -> RGBColor {
    let s = share.clamp(0.0, 1.0);
    let mix = |c: u8| (255.0 + (f64::from(c) - 255.0) * s).round() as u8;
    let RGBColor(r, g, b) = PALETTE[0];
    RGBColor(mix(r), mix(g), mix(b))
}

fn text_style(px: f64) -> TextStyle<'static> {
    ("sans-serif", px).into_font().color(&TEXT)
}

/// An empty series, to which a legend entry can be attached.
fn no_points() -> std::iter::Empty<Circle<(f64, f64), i32>> {
    std::iter::empty()
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidConfig(msg.into())
}

fn io_error(path: &Path, source: io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn check_path(path: &Path) -> Result<()> {
    if path.file_name().is_none() {
        return Err(invalid(format!(
            "figure path {} has no file name",
            path.display()
        )));
    }
    Ok(())
}

/// The parsed embedded font; on first use it is also registered with plotters, whose legends
/// size their rows with it.
fn font() -> std::result::Result<&'static FontRef<'static>, String> {
    static FONT: OnceLock<std::result::Result<FontRef<'static>, String>> = OnceLock::new();
    FONT.get_or_init(|| {
        let parse_error = || "the embedded font could not be parsed".to_string();
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT_BYTES)
            .map_err(|_| parse_error())?;
        FontRef::try_from_slice(FONT_BYTES).map_err(|_| parse_error())
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Draws with `draw` on a white canvas of `size` pixels and writes it to `path` as PNG.
fn render_png(
    path: &Path,
    (w, h): (u32, u32),
    draw: impl FnOnce(&Area<'_>) -> DrawResult,
) -> Result<()> {
    let render_error = |e: &dyn std::fmt::Display| {
        io_error(path, io::Error::other(format!("rendering failed: {e}")))
    };
    font().map_err(|e| render_error(&e))?;
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let canvas = Canvas(BitMapBackend::with_buffer(&mut rgb, (w, h)));
        let root = canvas.into_drawing_area();
        draw(&root).map_err(|e| render_error(&e))?;
        root.present().map_err(|e| render_error(&e))?;
    }
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    }
    let mut bytes = Vec::new();
    let png_error = |e: png::EncodingError| match e {
        png::EncodingError::IoError(e) => io_error(path, e),
        other => io_error(path, io::Error::other(other)),
    };
    let mut encoder = png::Encoder::new(&mut bytes, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(png_error)?;
    writer.write_image_data(&rgb).map_err(png_error)?;
    writer.finish().map_err(png_error)?;
    crate::io::write_atomically(path, &bytes)
}

/// Smallest and largest finite value, if any.
fn finite_range(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

// ---------------------------------------------------------------------------------------------
// Text.

/// The bitmap backend with its own text rendering. plotters 0.3.7 places `ab_glyph` glyphs
/// without their left side bearings (uneven letter spacing) and half an em too high for its
/// anchors, so text is laid out here; everything else goes to the bitmap backend.
struct Canvas<'a>(BitMapBackend<'a>);

type CanvasError = DrawingErrorKind<<BitMapBackend<'static> as DrawingBackend>::ErrorType>;

/// `text` laid out on one baseline from x = 0 with kerning, and its advance width.
fn layout_line(text: &str, px: f64) -> std::result::Result<(Vec<Glyph>, f32), String> {
    let font = font()?.as_scaled(PxScale::from(px as f32));
    let (mut caret, mut prev) = (0.0, None);
    let mut glyphs = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = prev {
            caret += font.kern(p, id);
        }
        glyphs.push(id.with_scale_and_position(font.scale(), ab_glyph::point(caret, 0.0)));
        caret += font.h_advance(id);
        prev = Some(id);
    }
    Ok((glyphs, caret))
}

/// Width and height (ascent to descent) of `text` in pixels.
fn text_size(text: &str, px: f64) -> (f32, f32) {
    let width = layout_line(text, px).map_or(0.0, |(_, w)| w);
    let height = font().map_or(px as f32, |f| {
        let f = f.as_scaled(PxScale::from(px as f32));
        f.ascent() - f.descent()
    });
    (width.ceil(), height.ceil())
}

impl DrawingBackend for Canvas<'_> {
    type ErrorType = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.0.get_size()
    }

    fn ensure_prepared(&mut self) -> std::result::Result<(), CanvasError> {
        self.0.ensure_prepared()
    }

    fn present(&mut self) -> std::result::Result<(), CanvasError> {
        self.0.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> std::result::Result<(), CanvasError> {
        self.0.draw_pixel(point, color)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> std::result::Result<(u32, u32), CanvasError> {
        let (w, h) = text_size(text, style.size());
        Ok((w as u32, h as u32))
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> std::result::Result<(), CanvasError> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let font_error = |e: String| DrawingErrorKind::FontError(e.into());
        let font = font().map_err(font_error)?;
        let font = font.as_scaled(PxScale::from(style.size() as f32));
        let (glyphs, width) = layout_line(text, style.size()).map_err(font_error)?;
        // Offset of the baseline's left end from the anchor, in the text's own frame (x along
        // the text, y down), whole pixels so that glyphs stay crisp.
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -0.5 * width,
            HPos::Right => -width,
        }
        .round() as i32;
        let dy = match anchor.v_pos {
            VPos::Top => font.ascent(),
            VPos::Center => 0.5 * (font.ascent() + font.descent()),
            VPos::Bottom => font.descent(),
        }
        .round() as i32;
        let turn = style.transform();
        let mut result = Ok(());
        for glyph in glyphs {
            let Some(outline) = font.outline_glyph(glyph) else {
                continue;
            };
            let corner = outline.px_bounds().min;
            let (x0, y0) = (corner.x as i32 + dx, corner.y as i32 + dy);
            outline.draw(|gx, gy, coverage| {
                let (x, y) = turn.transform(x0 + gx as i32, y0 + gy as i32);
                let ink = BackendColor {
                    alpha: color.alpha * f64::from(coverage.min(1.0)),
                    rgb: color.rgb,
                };
                if result.is_ok() {
                    result = self.0.draw_pixel((pos.0 + x, pos.1 + y), ink);
                }
            });
        }
        result
    }
}

// ---------------------------------------------------------------------------------------------
// Axes, frames and x-y panels.

/// A linear or logarithmic axis range, with how its tick labels are written.
#[derive(Debug, Clone)]
struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    /// Only whole numbers are labelled (epochs, counts, neuron indices).
    integer: bool,
}

impl Axis {
    fn linear(lo: f64, hi: f64) -> Axis {
        Axis {
            lo,
            hi,
            log: false,
            integer: false,
        }
    }

    /// An axis covering `[min, max]` with 5 % padding (in decades for a log axis, where both
    /// must be positive).
    fn padded(min: f64, max: f64, log: bool) -> Axis {
        if log {
            let (a, b) = (min.log10(), max.log10());
            let pad = (0.05 * (b - a)).max(0.08);
            Axis {
                log: true,
                ..Axis::linear(10f64.powf(a - pad), 10f64.powf(b + pad))
            }
        } else if max > min {
            let pad = 0.05 * (max - min);
            Axis::linear(min - pad, max + pad)
        } else {
            let pad = (0.1 * min.abs()).max(0.5);
            Axis::linear(min - pad, max + pad)
        }
    }

    fn linear_coord(&self) -> RangedCoordf64 {
        (self.lo..self.hi).into()
    }

    /// plotters' log axis, with ticks from [`log_ticks`].
    fn log_coord(&self) -> WithKeyPoints<LogCoord<f64>> {
        let (major, minor) = log_ticks(self.lo, self.hi);
        (self.lo..self.hi)
            .log_scale()
            .with_key_points(major)
            .with_light_points(minor)
    }

    /// The values plotters labels on this axis.
    fn ticks(&self) -> Vec<f64> {
        if self.log {
            log_ticks(self.lo, self.hi).0
        } else {
            self.linear_coord().key_points(BoldPoints(LABELS))
        }
    }

    /// Tick labels with as many decimals as the ticks need (plotters writes "1.0" next to
    /// "0.25"); significant digits on log axes and for extreme values.
    fn formatter(&self) -> impl Fn(&f64) -> String {
        let ticks = self.ticks();
        let largest = ticks.iter().fold(0.0f64, |m, t| m.max(t.abs()));
        let step = ticks
            .windows(2)
            .map(|w| w[1] - w[0])
            .fold(f64::MAX, f64::min);
        let decimals = (0..=6).find(|&d| {
            let scale = 10f64.powi(d);
            ticks
                .iter()
                .all(|t| ((t * scale).round() / scale - t).abs() <= 1e-9 * t.abs().max(1.0))
        });
        let significant = self.log || largest >= 1e6 || step < 1e-3 || decimals.is_none();
        let (integer, decimals) = (self.integer, decimals.unwrap_or(0) as usize);
        move |v: &f64| {
            let whole = (v - v.round()).abs() <= 1e-9 * v.abs().max(1.0);
            if integer && !whole {
                String::new()
            } else if integer {
                format!("{}", v.round() + 0.0)
            } else if significant {
                format_significant(*v)
            } else {
                format!("{:.*}", decimals, v + 0.0)
            }
        }
    }
}

/// Ticks (labelled) and minor grid values of a log axis over `[lo, hi]` (both positive).
/// plotters' own log axis ticks only at powers of ten, which leaves a range inside one decade
/// without any; here 1-2-5 and then 1..9 multiples fill in.
fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let (e0, e1) = (
        lo.log10().floor().max(-300.0) as i32,
        hi.log10().ceil().min(300.0) as i32,
    );
    let multiples = |ms: &[f64]| -> Vec<f64> {
        (e0..=e1)
            .flat_map(|e| ms.iter().map(move |m| m * 10f64.powi(e)))
            .filter(|v| *v >= lo * (1.0 - 1e-12) && *v <= hi * (1.0 + 1e-12))
            .collect()
    };
    let all: Vec<f64> = (1..10).map(f64::from).collect();
    let decades = multiples(&[1.0]);
    let major = if decades.len() > 8 {
        let every = decades.len().div_ceil(7);
        let kept = (e0..=e1).filter(|e| e.rem_euclid(every as i32) == 0);
        let kept: Vec<i32> = kept.collect();
        decades
            .iter()
            .copied()
            .filter(|v| kept.contains(&(v.log10().round() as i32)))
            .collect()
    } else if decades.len() >= 3 {
        decades.clone()
    } else if multiples(&[1.0, 2.0, 5.0]).len() >= 3 {
        multiples(&[1.0, 2.0, 5.0])
    } else if multiples(&all).len() >= 3 {
        multiples(&all)
    } else {
        // Less than about a third of a decade: plotters' linear ticks at their log positions.
        RangedCoordf64::from(lo..hi).key_points(BoldPoints(5))
    };
    let minor = if e1 - e0 <= 5 {
        multiples(&all)
    } else {
        decades
    };
    (major, minor)
}

/// At most three significant digits, in scientific notation outside `[1e-3, 1e5)`.
fn format_significant(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 || !a.is_finite() {
        return format!("{}", v + 0.0);
    }
    if (1e-3..1e5).contains(&a) {
        let decimals = (2.0 - a.log10().floor()).max(0.0) as usize;
        trim_zeros(format!("{v:.decimals$}"))
    } else {
        let s = format!("{v:.2e}");
        match s.split_once('e') {
            Some((mantissa, exp)) => format!("{}e{exp}", trim_zeros(mantissa.to_string())),
            None => s,
        }
    }
}

fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// What a panel shows around its data.
struct Frame<'a> {
    title: &'a str,
    x_desc: &'a str,
    y_desc: &'a str,
    x: &'a Axis,
    y: &'a Axis,
}

/// Pixels between an area's edges and the chart's plotting rectangle.
#[derive(Clone, Copy)]
struct ChartLayout {
    /// Text size of the title.
    title_px: f64,
    top: u32,
    bottom: u32,
    left: u32,
    right: u32,
}

/// Height plotters gives a caption of text height `h` (the text and a padding on each side).
fn caption_height(h: f32) -> u32 {
    let h = h as u32;
    h + 2 * (h / 2).min(5)
}

impl ChartLayout {
    /// Room for the frame's title, tick labels and axis descriptions.
    fn of(frame: &Frame<'_>, title_px: f64) -> ChartLayout {
        let label_size = |axis: &Axis| {
            let format = axis.formatter();
            let labels = axis.ticks().into_iter().map(|t| format(&t));
            labels.map(|l| text_size(&l, TICK_PX)).collect::<Vec<_>>()
        };
        let y_width = label_size(frame.y).iter().fold(0.0f32, |m, s| m.max(s.0));
        // Half of the last x label may stick out on the right.
        let x_overhang = label_size(frame.x).last().map_or(0.0, |s| 0.5 * s.0);
        let (_, tick_h) = text_size("0", TICK_PX);
        let (_, desc_h) = text_size("0", DESC_PX);
        let (_, title_h) = text_size("0", title_px);
        ChartLayout {
            title_px,
            top: if frame.title.is_empty() {
                MARGIN
            } else {
                MARGIN + caption_height(title_h)
            },
            bottom: if frame.x_desc.is_empty() {
                tick_h as u32 + 2 * TICK + 2
            } else {
                (tick_h + GAP + desc_h) as u32 + 2 * TICK + 2
            },
            left: (desc_h + GAP + y_width) as u32 + 2 * TICK + 4,
            right: (x_overhang as u32 + 6).max(2 * MARGIN),
        }
    }
}

type Chart<'a, 'b, X, Y> = ChartContext<'a, Canvas<'b>, Cartesian2d<X, Y>>;

/// Builds a chart on `area` and draws its caption, grid, axes, tick labels and descriptions.
fn build_chart<'a, 'b, X, Y>(
    area: &'a Area<'b>,
    frame: &Frame<'_>,
    layout: &ChartLayout,
    x: X,
    y: Y,
) -> DrawResult<Chart<'a, 'b, X, Y>>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged + ValueFormatter<Y::ValueType>,
    Y::ValueType: Into<f64> + Clone,
{
    let mut builder = ChartBuilder::on(area);
    builder
        .margin_top(MARGIN)
        .margin_bottom(BOTTOM_PAD)
        .margin_right(layout.right)
        .x_label_area_size(layout.bottom)
        .y_label_area_size(layout.left);
    if !frame.title.is_empty() {
        builder.caption(frame.title, text_style(layout.title_px));
    }
    let mut chart = builder.build_cartesian_2d(x, y)?;
    let x_format = frame.x.formatter();
    let y_format = frame.y.formatter();
    let y_format = |v: &Y::ValueType| y_format(&v.clone().into());
    let mut mesh = chart.configure_mesh();
    mesh.x_labels(LABELS)
        .y_labels(LABELS)
        .x_label_formatter(&x_format)
        .y_label_formatter(&y_format)
        .label_style(text_style(TICK_PX))
        .axis_desc_style(text_style(DESC_PX))
        .bold_line_style(GRID_MAJOR)
        .light_line_style(GRID_MINOR)
        .axis_style(BLACK)
        .set_all_tick_mark_size(TICK);
    if !frame.x_desc.is_empty() {
        mesh.x_desc(frame.x_desc);
    }
    if !frame.y_desc.is_empty() {
        mesh.y_desc(frame.y_desc);
    }
    mesh.draw()?;
    Ok(chart)
}

/// One curve of an x-y panel, in data coordinates.
struct Series<'a> {
    name: &'a str,
    color: RGBColor,
    points: Vec<(f64, f64)>,
    markers: bool,
    /// Half-length of a vertical error bar at each point (e.g. a standard deviation).
    errors: Option<Vec<f64>>,
}

/// Draws a frame with curves and a legend in the emptiest corner.
fn draw_xy_panel(area: &Area<'_>, frame: &Frame<'_>, series: &[Series<'_>]) -> DrawResult {
    let layout = ChartLayout::of(frame, TITLE_PX);
    let (x, y) = (frame.x, frame.y);
    match (x.log, y.log) {
        (false, false) => xy_panel(
            area,
            frame,
            &layout,
            x.linear_coord(),
            y.linear_coord(),
            series,
        ),
        (true, false) => xy_panel(
            area,
            frame,
            &layout,
            x.log_coord(),
            y.linear_coord(),
            series,
        ),
        (false, true) => xy_panel(
            area,
            frame,
            &layout,
            x.linear_coord(),
            y.log_coord(),
            series,
        ),
        (true, true) => xy_panel(area, frame, &layout, x.log_coord(), y.log_coord(), series),
    }
}

fn xy_panel<X, Y>(
    area: &Area<'_>,
    frame: &Frame<'_>,
    layout: &ChartLayout,
    x: X,
    y: Y,
    series: &[Series<'_>],
) -> DrawResult
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let mut chart = build_chart(area, frame, layout, x, y)?;
    // Pixels covered by data, for placing the legend.
    let mut occupied = Vec::new();
    for s in series {
        let color = s.color;
        if let Some(errors) = &s.errors {
            let bars = s
                .points
                .iter()
                .zip(errors)
                .filter(|(&(a, b), &e)| a.is_finite() && b.is_finite() && e > 0.0);
            let bars: Vec<_> = bars.map(|(&(a, b), &e)| (a, b, e)).collect();
            for &(a, b, e) in &bars {
                occupied.push(chart.backend_coord(&(a, b - e)));
                occupied.push(chart.backend_coord(&(a, b + e)));
            }
            chart.draw_series(bars.iter().map(|&(a, b, e)| {
                ErrorBar::new_vertical(a, b - e, b, b + e, color.stroke_width(2), 10)
            }))?;
        }
        for run in split_at_gaps(&s.points) {
            occupied.extend(run.iter().map(|p| chart.backend_coord(p)));
            occupied.extend(run.windows(2).map(|w| {
                let mid = |a: (i32, i32), b: (i32, i32)| ((a.0 + b.0) / 2, (a.1 + b.1) / 2);
                mid(chart.backend_coord(&w[0]), chart.backend_coord(&w[1]))
            }));
            // Markers where asked for, and always for isolated points, which have no line.
            let marker = if s.markers || run.len() == 1 { 3 } else { 0 };
            chart.draw_series(LineSeries::new(run, color.stroke_width(2)).point_size(marker))?;
        }
        // The legend lists every series, even one without a finite point.
        chart
            .draw_series(no_points())?
            .label(s.name)
            .legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (LEGEND_MARK, 0)], color.stroke_width(3))
                    + Circle::new((LEGEND_MARK / 2, 0), 3, color.filled())
            });
    }

    let (xs, ys) = chart.plotting_area().get_pixel_range();
    let (w, h) = legend_size(series.iter().map(|s| s.name));
    let box_frac = (
        f64::from(w + 2 * MARGIN as i32) / f64::from(xs.end - xs.start),
        f64::from(h + 2 * MARGIN as i32) / f64::from(ys.end - ys.start),
    );
    let fractions: Vec<(f64, f64)> = occupied
        .iter()
        .map(|&(px, py)| {
            (
                f64::from(px - xs.start) / f64::from(xs.end - xs.start),
                f64::from(ys.end - py) / f64::from(ys.end - ys.start),
            )
        })
        .collect();
    let position = match legend_corner(&fractions, box_frac) {
        (true, true) => SeriesLabelPosition::UpperRight,
        (false, true) => SeriesLabelPosition::UpperLeft,
        (true, false) => SeriesLabelPosition::LowerRight,
        (false, false) => SeriesLabelPosition::LowerLeft,
    };
    draw_legend(&mut chart, position, true)
}

/// Draws the chart's legend, boxed or not.
fn draw_legend<'a, 'b: 'a, X: Ranged, Y: Ranged>(
    chart: &mut Chart<'a, 'b, X, Y>,
    position: SeriesLabelPosition,
    boxed: bool,
) -> DrawResult {
    let (background, border) = if boxed {
        (WHITE.mix(0.9), LEGEND_BORDER.stroke_width(1))
    } else {
        (TRANSPARENT, TRANSPARENT.stroke_width(0))
    };
    chart
        .configure_series_labels()
        .position(position)
        .margin(MARGIN)
        .legend_area_size(LEGEND_MARK + 8)
        .label_font(text_style(LEGEND_PX))
        .background_style(background)
        .border_style(border)
        .draw()?;
    Ok(())
}

/// Approximate pixel size of a legend with these entries (plotters' layout: rows of 1.25
/// text heights, marks left of the text, a margin all round).
fn legend_size<'a>(entries: impl Iterator<Item = &'a str>) -> (i32, i32) {
    let (mut width, mut rows) = (0.0f32, 0);
    for e in entries {
        width = width.max(text_size(e, LEGEND_PX).0);
        rows += 1;
    }
    let w = 2 * MARGIN as i32 + LEGEND_MARK + 8 + width as i32;
    let h = 2 * MARGIN as i32 + (f64::from(rows) * 1.25 * LEGEND_PX) as i32;
    (w, h)
}

/// Splits a polyline into runs of finite points.
fn split_at_gaps(points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut run = Vec::new();
    for &(a, b) in points {
        if a.is_finite() && b.is_finite() {
            run.push((a, b));
        } else if !run.is_empty() {
            out.push(std::mem::take(&mut run));
        }
    }
    if !run.is_empty() {
        out.push(run);
    }
    out
}

/// The corner (right?, top?) whose legend-sized box covers the fewest data points; points
/// and box size are fractions of the plot, y up. Ties prefer upper right, upper left, lower
/// right, lower left.
fn legend_corner(occupied: &[(f64, f64)], (w, h): (f64, f64)) -> (bool, bool) {
    let corners = [(true, true), (false, true), (true, false), (false, false)];
    let count = |(right, top): (bool, bool)| {
        let x0 = if right { 1.0 - w } else { 0.0 };
        let y0 = if top { 1.0 - h } else { 0.0 };
        occupied
            .iter()
            .filter(|(a, b)| *a >= x0 && *a <= x0 + w && *b >= y0 && *b <= y0 + h)
            .count()
    };
    corners
        .into_iter()
        .min_by_key(|c| count(*c))
        .unwrap_or((true, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A fresh directory under the system temp dir; kept when DELGRAD_KEEP_TEST_PLOTS is set.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir =
                std::env::temp_dir().join(format!("delgrad-plots-{}-{}", std::process::id(), name));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            if std::env::var_os("DELGRAD_KEEP_TEST_PLOTS").is_some() {
                eprintln!("kept {}", self.0.display());
            } else {
                let _ = fs::remove_dir_all(&self.0);
            }
        }
    }

    /// The file is a PNG of plausible size and no temporary file is left next to it.
    fn assert_png(path: &Path) {
        let bytes = fs::read(path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
        assert!(
            bytes.len() > 5_000 && bytes.len() < 2_000_000,
            "{} bytes",
            bytes.len()
        );
        // It decodes, has a plausible size and shows more than a blank canvas.
        let mut reader = png::Decoder::new(io::Cursor::new(&bytes))
            .read_info()
            .unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        let (width, height) = (info.width, info.height);
        assert!(width >= 200 && height >= 150, "{width}x{height}");
        let inked = pixels
            .chunks(3)
            .filter(|p| p.iter().any(|&c| c < 128))
            .count();
        assert!(inked > 500, "{inked} dark pixels");
        let temporary: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.') || n.ends_with(".tmp"))
            .collect();
        assert!(temporary.is_empty(), "left behind: {temporary:?}");
    }

    fn assert_invalid(r: Result<()>) {
        assert!(matches!(r, Err(Error::InvalidConfig(_))), "{r:?}");
    }

    /// Small deterministic generator (64-bit LCG), uniform in [0, 1).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Class of a point of the Yin-Yang data set (0 yin, 1 yang, 2 dots).
    fn yin_yang_class(x: f64, y: f64) -> usize {
        let (r_small, r_big) = (0.1, 0.5);
        let d_right = ((x - 1.5 * r_big).powi(2) + (y - r_big).powi(2)).sqrt();
        let d_left = ((x - 0.5 * r_big).powi(2) + (y - r_big).powi(2)).sqrt();
        if d_right < r_small || d_left < r_small {
            return 2;
        }
        let yin = d_right <= r_small
            || (d_left > r_small && d_left <= 0.5 * r_big)
            || (y > r_big && d_right > 0.5 * r_big);
        usize::from(!yin)
    }

    #[test]
    fn learning_curves_png() {
        let dir = TempDir::new("curves");
        let rows: Vec<CurvePoint> = (1..=30)
            .map(|e| {
                let t = e as f64;
                CurvePoint {
                    epoch: e,
                    train_loss: 1.1 * (-t / 8.0).exp() + 0.05,
                    val_loss: if e == 12 {
                        f64::NAN
                    } else {
                        1.1 * (-t / 9.0).exp() + 0.08
                    },
                    train_accuracy: 0.97 - 0.6 * (-t / 6.0).exp(),
                    val_accuracy: 0.95 - 0.6 * (-t / 6.5).exp(),
                }
            })
            .collect();
        let path = dir.0.join("curves.png");
        learning_curves(&path, &rows[..5]).unwrap();
        assert_png(&path);
        // Overwriting works.
        learning_curves(&path, &rows).unwrap();
        assert_png(&path);
        // A single all-NaN row is drawn as empty panels.
        let nan = CurvePoint {
            epoch: 0,
            train_loss: f64::NAN,
            val_loss: f64::NAN,
            train_accuracy: f64::NAN,
            val_accuracy: f64::NAN,
        };
        let path = dir.0.join("curves-nan.png");
        learning_curves(&path, &[nan]).unwrap();
        assert_png(&path);
        // Non-positive losses fall back to a linear axis.
        let mut signed = rows.clone();
        signed[3].train_loss = -0.2;
        let path = dir.0.join("curves-linear.png");
        learning_curves(&path, &signed).unwrap();
        assert_png(&path);

        assert_invalid(learning_curves(&dir.0.join("empty.png"), &[]));
        assert!(!dir.0.join("empty.png").exists());
    }

    #[test]
    fn decision_map_png() {
        let dir = TempDir::new("decision");
        let mut rng = Lcg(7);
        let (mut points, mut labels, mut predicted) = (Vec::new(), Vec::new(), Vec::new());
        while points.len() < 1000 {
            let (x, y) = (rng.next(), rng.next());
            if (x - 0.5).powi(2) + (y - 0.5).powi(2) > 0.25 {
                continue;
            }
            let label = yin_yang_class(x, y);
            let u = rng.next();
            let p = if u < 0.03 {
                None
            } else if u < 0.08 {
                Some((label + 1) % 3)
            } else {
                Some(label)
            };
            points.push((x, y));
            labels.push(label);
            predicted.push(p);
        }
        let path = dir.0.join("decision.png");
        decision_map(&path, &points, &labels, &predicted, "Yin-Yang test set").unwrap();
        assert_png(&path);

        assert_invalid(decision_map(&path, &[], &[], &[], "t"));
        assert_invalid(decision_map(&path, &points, &labels[1..], &predicted, "t"));
        assert_invalid(decision_map(&path, &points, &labels, &predicted[1..], "t"));
    }

    #[test]
    fn spike_time_histograms_png() {
        let dir = TempDir::new("hist");
        let mut rng = Lcg(3);
        let hidden: Vec<f64> = (0..600)
            .map(|i| {
                if i % 8 == 0 {
                    f64::INFINITY
                } else {
                    1.0 + 0.6 * (rng.next() + rng.next() + rng.next())
                }
            })
            .collect();
        let output: Vec<f64> = (0..300)
            .map(|i| {
                if i % 50 == 0 {
                    f64::INFINITY
                } else {
                    1.8 + 0.5 * (rng.next() + rng.next())
                }
            })
            .collect();
        let path = dir.0.join("hist.png");
        spike_time_histograms(&path, &[("hidden", &hidden), ("output", &output)]).unwrap();
        assert_png(&path);
        // A fully silent panel and five panels in a grid.
        let silent = [f64::INFINITY; 10];
        let panels: Vec<(&str, &[f64])> = vec![
            ("a", &hidden),
            ("b", &output),
            ("c", &silent),
            ("d", &hidden),
            ("e", &output),
        ];
        let path = dir.0.join("hist-grid.png");
        spike_time_histograms(&path, &panels).unwrap();
        assert_png(&path);

        assert_invalid(spike_time_histograms(&path, &[]));
        assert_invalid(spike_time_histograms(&path, &[("x", &hidden), ("y", &[])]));
    }

    #[test]
    fn line_chart_png() {
        let dir = TempDir::new("line");
        let sizes = [1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0];
        let series: Vec<(&str, Vec<(f64, f64)>)> = vec![
            (
                "ndarray",
                sizes.iter().map(|&n| (n, 0.02 * n + 0.5)).collect(),
            ),
            (
                "wgpu",
                sizes
                    .iter()
                    .map(|&n| (n, if n == 64.0 { f64::NAN } else { 0.002 * n + 3.0 }))
                    .collect(),
            ),
        ];
        let path = dir.0.join("line.png");
        line_chart(
            &path,
            "Forward pass",
            "batch size",
            "time (ms)",
            &series,
            true,
        )
        .unwrap();
        assert_png(&path);
        let path = dir.0.join("line-linear.png");
        line_chart(&path, "linear", "x", "y", &series, false).unwrap();
        assert_png(&path);

        assert_invalid(line_chart(&path, "t", "x", "y", &[], false));
        assert_invalid(line_chart(&path, "t", "x", "y", &[("a", vec![])], false));
        let negative = vec![("a", vec![(-1.0, 1.0), (1.0, 2.0)])];
        assert_invalid(line_chart(&path, "t", "x", "y", &negative, true));
        let nan = vec![("a", vec![(f64::NAN, 1.0)])];
        assert_invalid(line_chart(&path, "t", "x", "y", &nan, false));
    }

    #[test]
    fn missing_directory_is_created_and_bad_path_rejected() {
        let dir = TempDir::new("nested");
        let path = dir.0.join("a/b/line.png");
        line_chart(&path, "t", "x", "y", &[("a", vec![(0.0, 1.0)])], false).unwrap();
        assert_png(&path);
        assert_invalid(line_chart(
            Path::new("/"),
            "t",
            "x",
            "y",
            &[("a", vec![(0.0, 1.0)])],
            false,
        ));
    }

    #[test]
    fn tick_labels() {
        let labels = |a: &Axis| {
            let format = a.formatter();
            a.ticks().iter().map(&format).collect::<Vec<_>>()
        };
        assert_eq!(
            labels(&Axis::linear(0.0, 1.0)),
            ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]
        );
        let epochs = Axis {
            integer: true,
            ..Axis::linear(0.5, 1.5)
        };
        assert!(labels(&epochs).iter().all(|l| l.is_empty() || l == "1"));
        assert!(labels(&epochs).contains(&"1".to_string()));
        assert_eq!(labels(&Axis::padded(0.01, 2.0, true)), ["0.01", "0.1", "1"]);
        assert_eq!(
            labels(&Axis::padded(0.3, 0.9, true)),
            ["0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1"]
        );
        assert_eq!(
            labels(&Axis::padded(30.0, 400.0, true)),
            ["50", "100", "200"]
        );
        assert_eq!(
            labels(&Axis::padded(1e-8, 10.0, true)),
            ["1e-8", "1e-6", "1e-4", "0.01", "1"]
        );
        assert_eq!(format_significant(2.5e-5), "2.5e-5");
        assert_eq!(format_significant(1234.0), "1234");
        assert_eq!(format_significant(0.123456), "0.123");
    }

    #[test]
    fn confusion_matrix_png() {
        let dir = TempDir::new("confusion");
        let names: Vec<String> = ["yin", "yang", "dot"].map(String::from).to_vec();
        let counts = vec![vec![310, 12, 9, 2], vec![7, 301, 4, 0], vec![3, 5, 340, 7]];
        let path = dir.0.join("confusion.png");
        confusion_matrix(&path, &counts, &names, "Yin-Yang test set").unwrap();
        assert_png(&path);
        // Ten classes, an empty row and no title.
        let names: Vec<String> = (0..10).map(|k| format!("digit {k}")).collect();
        let mut counts: Vec<Vec<usize>> = (0..10)
            .map(|r| {
                (0..11)
                    .map(|c| if r == c { 90 } else { (r + c) % 4 })
                    .collect()
            })
            .collect();
        counts[4] = vec![0; 11];
        let path = dir.0.join("confusion-10.png");
        confusion_matrix(&path, &counts, &names, "").unwrap();
        assert_png(&path);
        // A single class.
        let path = dir.0.join("confusion-1.png");
        confusion_matrix(&path, &[vec![5, 1]], &names[..1], "one class").unwrap();
        assert_png(&path);

        assert_invalid(confusion_matrix(&path, &[], &[], "t"));
        assert_invalid(confusion_matrix(&path, &counts[..9], &names, "t"));
        let mut short = counts.clone();
        short[2].pop();
        assert_invalid(confusion_matrix(&path, &short, &names, "t"));
    }

    #[test]
    fn spike_raster_png() {
        let dir = TempDir::new("raster");
        let mut rng = Lcg(11);
        let mut times = |n: usize, t0: f64, silent: f64| -> Vec<f64> {
            (0..n)
                .map(|_| {
                    if rng.next() < silent {
                        f64::INFINITY
                    } else {
                        t0 + rng.next()
                    }
                })
                .collect()
        };
        let samples: Vec<RasterSample> = (0..3)
            .map(|s| RasterSample {
                label: format!("sample {s}, class {}", s % 3),
                layers: vec![
                    times(4, 0.0, 0.0),
                    times(120, 0.5, 0.3),
                    times(30, 1.0, 0.4),
                    times(3, 1.5, 0.2),
                ],
            })
            .collect();
        let names: Vec<String> = ["input", "hidden 1", "hidden 2", "output"]
            .map(String::from)
            .to_vec();
        let path = dir.0.join("raster.png");
        spike_raster(&path, &samples, &names).unwrap();
        assert_png(&path);
        // A sample whose output is silent, and one sample only.
        let mut quiet = samples[0].clone();
        quiet.layers[3] = vec![f64::INFINITY; 3];
        let path = dir.0.join("raster-quiet.png");
        spike_raster(&path, &[quiet], &names).unwrap();
        assert_png(&path);

        assert_invalid(spike_raster(&path, &[], &names));
        assert_invalid(spike_raster(&path, &samples, &[]));
        assert_invalid(spike_raster(&path, &samples, &names[..3]));
    }
}
