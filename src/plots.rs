//! PNG figures: learning curves, decision maps, spike-time histograms and a generic line chart.
//!
//! Rendering is pure Rust and needs no system library: [`plotters`] draws axes, grids and
//! data into an RGB buffer, text is laid out and rasterised with `ab_glyph` from a font
//! embedded in the binary (Ubuntu Light, from the `epaint_default_fonts` crate, Ubuntu Font
//! Licence 1.0), and the `png` crate encodes the buffer. The same font is also registered with
//! plotters' own `ab_glyph` text path, but all visible text is drawn by this module, which
//! places glyphs with their side bearings and kerning (plotters 0.3.7 ignores the bearings,
//! which gives uneven letter spacing).
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

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

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
    let x = if e_max > e_min {
        let pad = 0.02 * (e_max - e_min);
        Axis::linear(e_min - pad, e_max + pad, true)
    } else {
        Axis::linear(e_min - 0.5, e_max + 0.5, true)
    };

    let losses = rows.iter().flat_map(|r| [r.train_loss, r.val_loss]);
    let loss_axis = match finite_range(losses) {
        Some((lo, hi)) if lo > 0.0 => Axis::log_padded(lo, hi),
        Some((lo, hi)) => Axis::linear_padded(lo, hi, false),
        None => Axis::linear(0.0, 1.0, false),
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
            Axis::linear(bottom, top, false)
        }
        None => Axis::linear(0.0, 100.0, false),
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
    let x_axis = Axis::linear(cx - half, cx + half, false);
    let y_axis = Axis::linear(cy - half, cy + half, false);

    // Correct points first, then the misclassified ones on top with their rings.
    let drawable = |i: &usize| points[*i].0.is_finite() && points[*i].1.is_finite();
    let order: Vec<usize> = (0..n)
        .filter(|&i| !wrong(i))
        .chain((0..n).filter(|&i| wrong(i)))
        .filter(drawable)
        .collect();

    let mut legend: Vec<LegendEntry> = per_class
        .iter()
        .map(|(&c, count)| LegendEntry {
            text: format!("predicted {c} ({count})"),
            color: class_color(Some(c)),
            mark: Mark::Dot,
        })
        .collect();
    legend.push(LegendEntry {
        text: format!("no spike ({silent})"),
        color: SILENT_GREY,
        mark: Mark::Dot,
    });
    legend.push(LegendEntry {
        text: format!("misclassified ({errors})"),
        color: BLACK,
        mark: Mark::Ring,
    });

    // The plot is a square of PLOT pixels; the margins around it follow the frame's layout.
    const PLOT: u32 = 600;
    const LEGEND_W: u32 = 240;
    let layout = FrameLayout::of(&x_axis, &y_axis, true);
    let chart_w = layout.left + PLOT + layout.right;
    let chart_h = layout.top + PLOT + layout.bottom;
    render_png(path, (chart_w + LEGEND_W, chart_h), |root| {
        let (chart_area, legend_area) = root.split_horizontally(chart_w);
        let frame = Frame {
            title: &heading,
            x_desc: "x",
            y_desc: "y",
            x: &x_axis,
            y: &y_axis,
        };
        let chart = draw_frame(&chart_area, &frame)?;
        let plot = chart.plotting_area();
        for &i in &order {
            plot.draw(&Circle::new(
                points[i],
                3,
                class_color(predicted[i]).filled(),
            ))?;
        }
        for &i in order.iter().filter(|&&i| wrong(i)) {
            plot.draw(&Circle::new(points[i], 6, BLACK.stroke_width(1)))?;
        }
        let (lx, ly) = legend_area.get_base_pixel();
        draw_legend(
            &legend_area,
            (lx + 10, ly + layout.top as i32),
            &legend,
            false,
        )?;
        Ok(())
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
    // Rice rule, bounded.
    let bins = ((2.0 * (largest as f64).cbrt()).ceil() as usize).clamp(10, 60);
    let width = (hi - lo) / bins as f64;
    let x_axis = {
        let pad = 0.02 * (hi - lo);
        Axis::linear(lo - pad, hi + pad, false)
    };

    struct Hist {
        title: String,
        counts: Vec<usize>,
    }
    let hists: Vec<Hist> = panels
        .iter()
        .map(|(name, times)| {
            let mut counts = vec![0usize; bins];
            let (mut silent, mut invalid) = (0usize, 0usize);
            for &t in times.iter() {
                if t.is_finite() {
                    let b = (((t - lo) / width).floor().max(0.0) as usize).min(bins - 1);
                    counts[b] += 1;
                } else if t == f64::INFINITY {
                    silent += 1;
                } else {
                    invalid += 1;
                }
            }
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
            Hist { title, counts }
        })
        .collect();

    let cols = if panels.len() <= 3 { 1 } else { 2 };
    let rows = panels.len().div_ceil(cols);
    let (panel_w, panel_h) = (if cols == 1 { 900 } else { 700 }, 300);
    let size = (panel_w * cols as u32, panel_h * rows as u32);
    render_png(path, size, |root| {
        let areas = root.split_evenly((rows, cols));
        for (k, (hist, area)) in hists.iter().zip(&areas).enumerate() {
            let max = hist.counts.iter().copied().max().unwrap_or(0).max(1) as f64;
            let y_axis = Axis::linear(0.0, max * 1.08, true);
            let frame = Frame {
                title: &hist.title,
                x_desc: "spike time",
                y_desc: "count",
                x: &x_axis,
                y: &y_axis,
            };
            let mut chart = draw_frame(area, &frame)?;
            let color = PALETTE[k % PALETTE.len()];
            let bars: Vec<_> = hist
                .counts
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(b, &c)| {
                    let x0 = lo + b as f64 * width;
                    [(x0, 0.0), (x0 + width, c as f64)]
                })
                .collect();
            chart.draw_series(
                bars.iter()
                    .map(|r| Rectangle::new(*r, color.mix(0.75).filled())),
            )?;
            chart.draw_series(
                bars.iter()
                    .map(|r| Rectangle::new(*r, color.stroke_width(1))),
            )?;
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
    let (Some((x_lo, x_hi)), Some((y_lo, y_hi))) = (
        finite_range(finite_points().map(|p| p.0)),
        finite_range(finite_points().flat_map(|p| [p.1 - p.2, p.1 + p.2])),
    ) else {
        return Err(invalid("line_chart: no finite point"));
    };
    let x = if log_x {
        Axis::log_padded(x_lo, x_hi)
    } else {
        Axis::linear_padded(x_lo, x_hi, false)
    };
    if log_y {
        if let Some((_, y, _)) = finite_points().find(|(_, y, _)| *y <= 0.0) {
            return Err(invalid(format!(
                "line_chart: y = {y} cannot be drawn on a log axis"
            )));
        }
    }
    let y = if log_y {
        Axis::log_padded(y_lo, y_hi)
    } else {
        Axis::linear_padded(y_lo, y_hi, false)
    };
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

// ---------------------------------------------------------------------------------------------
// Rendering and writing.

type Root<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
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
const TEXT: RGBColor = RGBColor(20, 20, 20);

/// Text sizes in pixels (ascent to descent).
const TITLE_PX: f32 = 23.0;
const DESC_PX: f32 = 19.0;
const TICK_PX: f32 = 17.0;
const LEGEND_PX: f32 = 17.0;

/// The embedded font: Ubuntu Light (Ubuntu Font Licence 1.0).
const FONT_BYTES: &[u8] = epaint_default_fonts::UBUNTU_LIGHT;

fn class_color(class: Option<usize>) -> RGBColor {
    class.map_or(SILENT_GREY, |c| PALETTE[c % PALETTE.len()])
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

/// The parsed embedded font; on first use it is also registered with plotters for every
/// family name plotters may ask for.
fn font() -> std::result::Result<&'static FontRef<'static>, String> {
    static FONT: OnceLock<std::result::Result<FontRef<'static>, String>> = OnceLock::new();
    FONT.get_or_init(|| {
        let parse_error = || "the embedded font could not be parsed".to_string();
        for family in ["sans-serif", "serif", "monospace"] {
            plotters::style::register_font(family, FontStyle::Normal, FONT_BYTES)
                .map_err(|_| parse_error())?;
        }
        FontRef::try_from_slice(FONT_BYTES).map_err(|_| parse_error())
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Draws with `draw` on a white canvas of `size` pixels and writes it to `path` as PNG.
fn render_png(
    path: &Path,
    (w, h): (u32, u32),
    draw: impl FnOnce(&Root<'_>) -> DrawResult,
) -> Result<()> {
    let render_error = |e: &dyn std::fmt::Display| {
        io_error(path, io::Error::other(format!("rendering failed: {e}")))
    };
    font().map_err(|e| render_error(&e))?;
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| render_error(&e))?;
        draw(&root).map_err(|e| render_error(&e))?;
        root.present().map_err(|e| render_error(&e))?;
    }
    write_png_atomic(path, (w, h), &rgb)
}

/// Encodes an RGB8 image as PNG and writes it atomically (temporary sibling file, rename).
fn write_png_atomic(path: &Path, (w, h): (u32, u32), rgb: &[u8]) -> Result<()> {
    if path.file_name().is_none() {
        return Err(invalid(format!(
            "figure path {} has no file name",
            path.display()
        )));
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
    writer.write_image_data(rgb).map_err(png_error)?;
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

/// Where and how to draw one line of text.
#[derive(Clone, Copy)]
struct TextSpec {
    size: f32,
    h: HPos,
    v: VPos,
    /// Rotated by 90° counter-clockwise (reading upwards), as for a y-axis title.
    upward: bool,
}

impl TextSpec {
    fn new(size: f32, h: HPos, v: VPos) -> TextSpec {
        TextSpec {
            size,
            h,
            v,
            upward: false,
        }
    }
}

/// Width of `text` in pixels at `size`.
fn text_width(text: &str, size: f32) -> DrawResult<f32> {
    let font = font()?.as_scaled(PxScale::from(size));
    let mut width = 0.0;
    let mut prev = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = prev {
            width += font.kern(p, id);
        }
        width += font.h_advance(id);
        prev = Some(id);
    }
    Ok(width)
}

/// Draws `text` anchored at `at` (canvas pixels) on `area`, with kerning and side bearings.
fn draw_text(area: &Root<'_>, text: &str, at: (i32, i32), style: TextSpec) -> DrawResult {
    let font = font()?.as_scaled(PxScale::from(style.size));
    let width = text_width(text, style.size)?;
    // Offset of the text's origin (left end of the baseline) from the anchor, along the text
    // (x) and across it (y, downwards), in whole pixels so glyphs stay crisp.
    let ox = match style.h {
        HPos::Left => 0.0,
        HPos::Center => -0.5 * width,
        HPos::Right => -width,
    }
    .round();
    let (ascent, descent) = (font.ascent(), font.descent());
    let oy = match style.v {
        VPos::Top => ascent,
        VPos::Center => 0.5 * (ascent + descent),
        VPos::Bottom => descent,
    }
    .round();
    let base = area.get_base_pixel();
    let mut caret = 0.0;
    let mut prev = None;
    let mut failure = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = prev {
            caret += font.kern(p, id);
        }
        let glyph = id.with_scale_and_position(font.scale(), ab_glyph::point(caret, 0.0));
        caret += font.h_advance(id);
        prev = Some(id);
        let Some(outline) = font.outline_glyph(glyph) else {
            continue;
        };
        let bounds = outline.px_bounds();
        outline.draw(|gx, gy, coverage| {
            let lx = (bounds.min.x + ox) as i32 + gx as i32;
            let ly = (bounds.min.y + oy) as i32 + gy as i32;
            let (px, py) = if style.upward {
                (at.0 + ly, at.1 - lx)
            } else {
                (at.0 + lx, at.1 + ly)
            };
            let color = TEXT.mix(f64::from(coverage.min(1.0)));
            if let Err(e) = area.draw_pixel((px - base.0, py - base.1), &color) {
                failure.get_or_insert(e);
            }
        });
    }
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Frames: axes, grid, tick labels and titles.

/// What a panel shows around its data.
struct Frame<'a> {
    title: &'a str,
    x_desc: &'a str,
    y_desc: &'a str,
    x: &'a Axis,
    y: &'a Axis,
}

/// Pixel margins between an area's edges and its plotting rectangle.
struct FrameLayout {
    top: u32,
    bottom: u32,
    left: u32,
    right: u32,
    /// Widest y tick label.
    y_label_width: f32,
}

const TICK_LEN: i32 = 6;
const GAP: f32 = 6.0;

impl FrameLayout {
    fn of(x: &Axis, y: &Axis, titled: bool) -> FrameLayout {
        let y_label_width = y
            .major
            .iter()
            .map(|v| text_width(&y.label(*v), TICK_PX).unwrap_or(0.0))
            .fold(0.0, f32::max);
        // Half of the last x label may stick out on the right.
        let x_overhang = x.major.last().map_or(0.0, |v| {
            0.5 * text_width(&x.label(*v), TICK_PX).unwrap_or(0.0)
        });
        FrameLayout {
            top: if titled { (TITLE_PX * 1.9) as u32 } else { 14 },
            bottom: (TICK_LEN as f32 + 2.0 * GAP + 1.2 * (TICK_PX + DESC_PX)) as u32,
            left: (TICK_LEN as f32 + 3.0 * GAP + y_label_width + 1.2 * DESC_PX) as u32,
            right: (x_overhang + 12.0).max(24.0) as u32,
            y_label_width,
        }
    }
}

type Chart<'a, 'b> = ChartContext<'a, BitMapBackend<'b>, Cartesian2d<Axis, Axis>>;

/// Builds a chart filling `area` and draws its grid, axes, tick labels and titles.
fn draw_frame<'a, 'b>(area: &'a Root<'b>, frame: &Frame<'_>) -> DrawResult<Chart<'a, 'b>> {
    let layout = FrameLayout::of(frame.x, frame.y, !frame.title.is_empty());
    let mut chart = ChartBuilder::on(area)
        .margin_top(layout.top)
        .margin_right(layout.right)
        .x_label_area_size(layout.bottom)
        .y_label_area_size(layout.left)
        .build_cartesian_2d(frame.x.clone(), frame.y.clone())?;
    chart
        .configure_mesh()
        .bold_line_style(GRID_MAJOR)
        .light_line_style(GRID_MINOR)
        .axis_style(BLACK)
        .set_all_tick_mark_size(TICK_LEN)
        .draw()?;

    let (xs, ys) = chart.plotting_area().get_pixel_range();
    let (x_lo, y_lo) = (frame.x.lo, frame.y.lo);
    for v in &frame.x.major {
        let (px, _) = chart.backend_coord(&(*v, y_lo));
        let style = TextSpec::new(TICK_PX, HPos::Center, VPos::Top);
        draw_text(area, &frame.x.label(*v), (px, ys.end + TICK_LEN + 3), style)?;
    }
    for v in &frame.y.major {
        let (_, py) = chart.backend_coord(&(x_lo, *v));
        let style = TextSpec::new(TICK_PX, HPos::Right, VPos::Center);
        draw_text(
            area,
            &frame.y.label(*v),
            (xs.start - TICK_LEN - 4, py),
            style,
        )?;
    }
    let mid_x = (xs.start + xs.end) / 2;
    let mid_y = (ys.start + ys.end) / 2;
    let desc_top = ys.end + TICK_LEN + (GAP + 1.2 * TICK_PX) as i32;
    let desc = TextSpec::new(DESC_PX, HPos::Center, VPos::Top);
    draw_text(area, frame.x_desc, (mid_x, desc_top), desc)?;
    let desc_right = xs.start - TICK_LEN - (2.0 * GAP + layout.y_label_width) as i32;
    let upward = TextSpec {
        upward: true,
        ..TextSpec::new(DESC_PX, HPos::Center, VPos::Bottom)
    };
    draw_text(area, frame.y_desc, (desc_right, mid_y), upward)?;
    if !frame.title.is_empty() {
        let title = TextSpec::new(TITLE_PX, HPos::Center, VPos::Center);
        let top = area.get_base_pixel().1 + layout.top as i32 / 2;
        draw_text(area, frame.title, (mid_x, top), title)?;
    }
    Ok(chart)
}

// ---------------------------------------------------------------------------------------------
// Curves and legends.

/// One curve of an x-y panel, in data coordinates.
struct Series<'a> {
    name: &'a str,
    color: RGBColor,
    points: Vec<(f64, f64)>,
    markers: bool,
    /// Half-length of a vertical error bar at each point (e.g. a standard deviation).
    errors: Option<Vec<f64>>,
}

/// How a legend entry is marked.
#[derive(Debug, Clone, Copy)]
enum Mark {
    Line,
    Dot,
    Ring,
}

struct LegendEntry {
    text: String,
    color: RGBColor,
    mark: Mark,
}

const LEGEND_PAD: i32 = 10;
const LEGEND_SAMPLE: i32 = 26;
const LEGEND_ROW: i32 = 26;

/// Size in pixels of a legend box.
fn legend_size(entries: &[LegendEntry]) -> DrawResult<(i32, i32)> {
    let mut text = 0.0f32;
    for e in entries {
        text = text.max(text_width(&e.text, LEGEND_PX)?);
    }
    let w = 2 * LEGEND_PAD + LEGEND_SAMPLE + 8 + text.ceil() as i32;
    let h = 2 * LEGEND_PAD + LEGEND_ROW * entries.len() as i32 - 6;
    Ok((w, h))
}

/// Draws a legend whose top-left corner is at `at` (canvas pixels).
fn draw_legend(
    area: &Root<'_>,
    at: (i32, i32),
    entries: &[LegendEntry],
    boxed: bool,
) -> DrawResult {
    let base = area.get_base_pixel();
    let rel = |(x, y): (i32, i32)| (x - base.0, y - base.1);
    let (w, h) = legend_size(entries)?;
    if boxed {
        let corners = [rel(at), rel((at.0 + w, at.1 + h))];
        area.draw(&Rectangle::new(corners, WHITE.mix(0.9).filled()))?;
        area.draw(&Rectangle::new(
            corners,
            RGBColor(170, 170, 170).stroke_width(1),
        ))?;
    }
    for (k, e) in entries.iter().enumerate() {
        let y = at.1 + LEGEND_PAD + LEGEND_ROW * k as i32 + (LEGEND_ROW - 6) / 2;
        let x = at.0 + LEGEND_PAD;
        let mid = rel((x + LEGEND_SAMPLE / 2, y));
        match e.mark {
            Mark::Line => {
                let line = vec![rel((x, y)), rel((x + LEGEND_SAMPLE, y))];
                area.draw(&PathElement::new(line, e.color.stroke_width(3)))?;
                area.draw(&Circle::new(mid, 3, e.color.filled()))?;
            }
            Mark::Dot => area.draw(&Circle::new(mid, 5, e.color.filled()))?,
            Mark::Ring => area.draw(&Circle::new(mid, 7, e.color.stroke_width(1)))?,
        }
        let style = TextSpec::new(LEGEND_PX, HPos::Left, VPos::Center);
        draw_text(area, &e.text, (x + LEGEND_SAMPLE + 8, y), style)?;
    }
    Ok(())
}

/// Draws a frame with curves and a legend in the emptiest corner.
fn draw_xy_panel(area: &Root<'_>, frame: &Frame<'_>, series: &[Series<'_>]) -> DrawResult {
    let (x, y) = (frame.x, frame.y);
    let chart = draw_frame(area, frame)?;
    let plot = chart.plotting_area();
    let mut occupied = Vec::new();
    for s in series {
        if let Some(errors) = &s.errors {
            for (&(a, b), &e) in s.points.iter().zip(errors) {
                if !(a.is_finite() && b.is_finite()) || e == 0.0 {
                    continue;
                }
                let (lo, hi) = ((x.map(a), y.map(b - e)), (x.map(a), y.map(b + e)));
                let cap = 0.006 * (x.hi - x.lo);
                plot.draw(&PathElement::new(vec![lo, hi], s.color.stroke_width(2)))?;
                for end in [lo, hi] {
                    let line = vec![(end.0 - cap, end.1), (end.0 + cap, end.1)];
                    plot.draw(&PathElement::new(line, s.color.stroke_width(2)))?;
                }
                occupied.push((x.fraction(lo.0), y.fraction(lo.1)));
                occupied.push((x.fraction(hi.0), y.fraction(hi.1)));
            }
        }
        let mapped: Vec<(f64, f64)> = s
            .points
            .iter()
            .map(|&(a, b)| (x.map(a), y.map(b)))
            .collect();
        let segments = split_at_gaps(&mapped);
        for seg in &segments {
            plot.draw(&PathElement::new(seg.clone(), s.color.stroke_width(2)))?;
            // Markers where asked for, and always for isolated points, which have no line.
            if s.markers || seg.len() == 1 {
                for &p in seg {
                    plot.draw(&Circle::new(p, 3, s.color.filled()))?;
                }
            }
            occupied.extend(seg.iter().map(|&(a, b)| (x.fraction(a), y.fraction(b))));
            occupied.extend(seg.windows(2).map(|w| {
                (
                    x.fraction(0.5 * (w[0].0 + w[1].0)),
                    y.fraction(0.5 * (w[0].1 + w[1].1)),
                )
            }));
        }
    }
    let entries: Vec<LegendEntry> = series
        .iter()
        .map(|s| LegendEntry {
            text: s.name.to_string(),
            color: s.color,
            mark: Mark::Line,
        })
        .collect();
    let (w, h) = legend_size(&entries)?;
    let (xs, ys) = plot.get_pixel_range();
    let (pw, ph) = ((xs.end - xs.start) as f64, (ys.end - ys.start) as f64);
    let margin = 10;
    let box_frac = (
        f64::from(w + 2 * margin) / pw,
        f64::from(h + 2 * margin) / ph,
    );
    let (right, top) = legend_corner(&occupied, box_frac);
    let lx = if right {
        xs.end - margin - w
    } else {
        xs.start + margin
    };
    let ly = if top {
        ys.start + margin
    } else {
        ys.end - margin - h
    };
    draw_legend(area, (lx, ly), &entries, true)
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

// ---------------------------------------------------------------------------------------------
// Axes with their own tick placement and labels.

/// An axis in drawing space (log10 of the value for a log axis) with chosen ticks.
#[derive(Debug, Clone)]
struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    major: Vec<f64>,
    minor: Vec<f64>,
    /// Decimals of the labels; `None` means significant-digit formatting.
    decimals: Option<usize>,
}

impl Axis {
    /// Linear axis over `[lo, hi]` (`lo < hi`); `integer` keeps tick steps at 1 or more.
    fn linear(lo: f64, hi: f64, integer: bool) -> Axis {
        let (major, minor, step) = linear_ticks(lo, hi, integer);
        Axis {
            lo,
            hi,
            log: false,
            major,
            minor,
            decimals: step_decimals(step, lo.abs().max(hi.abs())),
        }
    }

    /// Linear axis covering `[min, max]` with 5 % padding.
    fn linear_padded(min: f64, max: f64, integer: bool) -> Axis {
        if max > min {
            let pad = 0.05 * (max - min);
            Axis::linear(min - pad, max + pad, integer)
        } else {
            let pad = (0.1 * min.abs()).max(0.5);
            Axis::linear(min - pad, max + pad, integer)
        }
    }

    /// Log axis covering the positive range `[min, max]` with 5 % padding (in decades).
    fn log_padded(min: f64, max: f64) -> Axis {
        let (a, b) = (min.log10(), max.log10());
        let pad = (0.05 * (b - a)).max(0.08);
        let (lo, hi) = (a - pad, b + pad);
        let (major, minor, decimals) = log_ticks(lo, hi);
        Axis {
            lo,
            hi,
            log: true,
            major,
            minor,
            decimals,
        }
    }

    /// Data value to drawing coordinate.
    fn map(&self, v: f64) -> f64 {
        if self.log {
            v.log10()
        } else {
            v
        }
    }

    /// Drawing coordinate to a fraction of the axis length.
    fn fraction(&self, v: f64) -> f64 {
        (v - self.lo) / (self.hi - self.lo)
    }

    /// Tick label of a drawing coordinate.
    fn label(&self, v: f64) -> String {
        let value = if self.log { 10f64.powf(v) } else { v };
        match self.decimals {
            Some(d) => format!("{:.*}", d, value + 0.0),
            None => format_significant(value),
        }
    }
}

impl Ranged for Axis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let pixels = f64::from(limit.1 - limit.0);
        limit.0 + (self.fraction(*value) * pixels).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.minor.clone()
        } else {
            self.major.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// Plotters draws no tick labels itself (they are drawn by [`draw_frame`]).
impl ValueFormatter<f64> for Axis {
    fn format_ext(&self, _value: &f64) -> String {
        String::new()
    }
}

/// A "nice" step (1, 2, 2.5 or 5 times a power of ten) at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * mag)
}

/// Decimals for labels at multiples of `step`; `None` (significant digits, scientific
/// notation where needed) for very small steps or very large values.
fn step_decimals(step: f64, largest: f64) -> Option<usize> {
    if step < 1e-3 || largest >= 1e6 {
        return None;
    }
    let d = (-step.log10().floor()).max(0.0) as usize;
    // Steps such as 0.25 need one more decimal than their magnitude says.
    let scaled = step * 10f64.powi(d as i32);
    Some(d + usize::from((scaled - scaled.round()).abs() > 1e-6))
}

/// Major ticks, minor ticks and the major step of a linear axis.
fn linear_ticks(lo: f64, hi: f64, integer: bool) -> (Vec<f64>, Vec<f64>, f64) {
    let mut step = nice_step((hi - lo) / 7.0);
    if integer && step < 1.0 {
        step = 1.0;
    }
    let multiples = |step: f64| -> Vec<f64> {
        let (k0, k1) = ((lo / step - 1e-9).ceil(), (hi / step + 1e-9).floor());
        let count = (k1 - k0).clamp(-1.0, 1000.0) as i64;
        (0..=count).map(|k| (k0 + k as f64) * step + 0.0).collect()
    };
    let major = multiples(step);
    let mantissa = step / 10f64.powf(step.log10().floor());
    let sub = step
        / if (mantissa - 2.0).abs() < 1e-9 {
            4.0
        } else {
            5.0
        };
    let minor = if integer && sub < 1.0 {
        Vec::new()
    } else {
        multiples(sub)
            .into_iter()
            .filter(|v| ((v / step).round() - v / step).abs() > 1e-6)
            .collect()
    };
    (major, minor, step)
}

/// Major ticks, minor ticks and label decimals of a log axis over `[lo, hi]` decades.
fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>, Option<usize>) {
    let span = hi - lo;
    let (e0, e1) = (lo.floor().max(-400.0) as i32, hi.ceil().min(400.0) as i32);
    let inside = |v: &f64| *v >= lo - 1e-12 && *v <= hi + 1e-12;
    let with = |mults: &[f64]| -> Vec<f64> {
        (e0..=e1)
            .flat_map(|e| mults.iter().map(move |m| m.log10() + f64::from(e)))
            .filter(inside)
            .collect()
    };
    if span > 8.0 {
        let every = (span / 7.0).ceil() as i32;
        let major = (e0..=e1)
            .filter(|e| e.rem_euclid(every) == 0)
            .map(f64::from)
            .filter(inside)
            .collect();
        let minor = (e0..=e1).map(f64::from).filter(inside).collect();
        return (major, minor, None);
    }
    let mut major = with(&[1.0]);
    if major.len() < 3 {
        major = with(&[1.0, 2.0, 5.0]);
    }
    if major.len() < 3 {
        // Less than about half a decade: evenly spaced values, drawn at their log positions.
        let (lin_lo, lin_hi) = (10f64.powf(lo), 10f64.powf(hi));
        let (ticks, minor, step) = linear_ticks(lin_lo, lin_hi, false);
        let log = |v: Vec<f64>| v.into_iter().map(f64::log10).collect();
        return (log(ticks), log(minor), step_decimals(step, lin_hi));
    }
    let minor = if span <= 4.0 {
        let all: Vec<f64> = (1..10).map(f64::from).collect();
        with(&all)
            .into_iter()
            .filter(|v| major.iter().all(|m| (m - v).abs() > 1e-9))
            .collect()
    } else {
        Vec::new()
    };
    (major, minor, None)
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
        assert!(width >= 400 && height >= 300, "{width}x{height}");
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
        let a = Axis::linear(0.0, 1.0, false);
        assert_eq!(a.major.len(), 6, "{:?}", a.major);
        assert_eq!(a.label(0.2), "0.2");
        let a = Axis::linear(-0.05, 1.05, false);
        assert_eq!(a.label(0.0), "0.0");
        let e = Axis::linear(0.5, 3.5, true);
        assert_eq!(e.major, vec![1.0, 2.0, 3.0]);
        assert_eq!(e.label(2.0), "2");
        let l = Axis::log_padded(0.01, 2.0);
        let labels: Vec<String> = l.major.iter().map(|v| l.label(*v)).collect();
        assert_eq!(labels, ["0.01", "0.1", "1"]);
        let narrow = Axis::log_padded(0.3, 0.9);
        let labels: Vec<String> = narrow.major.iter().map(|v| narrow.label(*v)).collect();
        assert_eq!(labels, ["0.4", "0.6", "0.8", "1.0"]);
        let wide = Axis::log_padded(1e-8, 10.0);
        let labels: Vec<String> = wide.major.iter().map(|v| wide.label(*v)).collect();
        assert_eq!(labels, ["1e-8", "1e-6", "1e-4", "0.01", "1"]);
        assert_eq!(format_significant(2.5e-5), "2.5e-5");
        assert_eq!(format_significant(1234.0), "1234");
        assert_eq!(format_significant(0.123456), "0.123");
    }
}

// TEMP-MERGE: replaced by the plots branch.
/// Temporary.
pub struct RasterSample {
    /// Temporary.
    pub label: String,
    /// Temporary.
    pub layers: Vec<Vec<f64>>,
}
/// Temporary.
pub fn confusion_matrix(
    _path: &Path,
    _counts: &[Vec<usize>],
    _class_names: &[String],
    _title: &str,
) -> Result<()> {
    Ok(())
}
/// Temporary.
pub fn spike_raster(_path: &Path, _samples: &[RasterSample], _names: &[String]) -> Result<()> {
    Ok(())
}
