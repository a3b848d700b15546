//! The latency-percentile plot (`--svg`), written by hand: percentile on a "nines" x axis
//! (0 %, 90 %, 99 %, 99.9 %, ... equally spaced, i.e. -log10(1 - q)), latency on a linear y axis,
//! one line per series. Plain SVG 1.1 that any browser shows.

use std::fmt::Write;

const WIDTH: f64 = 800.0;
const HEIGHT: f64 = 450.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;
/// The x axis never goes beyond 99.9999 %.
const MAX_NINES: f64 = 6.0;
/// The first series ("all") is dark, the others take distinct colours.
const COLOURS: [&str; 10] =
    ["#222222", "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"];

/// One line: its legend and (quantile 0..=1, latency in ms) points, by rising quantile.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The nines of quantile `q`: 0.9 → 1, 0.99 → 2; capped at [`MAX_NINES`].
pub fn nines(q: f64) -> f64 {
    if q >= 1.0 {
        MAX_NINES
    } else {
        (-(1.0 - q).log10()).clamp(0.0, MAX_NINES)
    }
}

/// A round step for about five ticks up to `max`.
fn tick_step(max: f64) -> f64 {
    let raw = (max / 5.0).max(1e-3);
    let magnitude = 10f64.powf(raw.log10().floor());
    let fraction = raw / magnitude;
    let nice = if fraction <= 1.0 {
        1.0
    } else if fraction <= 2.0 {
        2.0
    } else if fraction <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// The label of `n` nines: 0 → `0%`, 1 → `90%`, 3 → `99.9%`.
fn percent_label(n: u32) -> String {
    match n {
        0 => "0%".into(),
        1 => "90%".into(),
        2 => "99%".into(),
        _ => format!("99.{}%", "9".repeat(n as usize - 2)),
    }
}

/// The whole SVG document. `samples` (the operation count) decides how many nines the x axis
/// shows: no more than the data can tell.
pub fn plot(title: &str, series: &[Series], samples: u64) -> String {
    let x_max = ((samples.max(10) as f64).log10().ceil()).clamp(2.0, MAX_NINES);
    let y_top = series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(0.0, f64::max);
    let step = tick_step(if y_top > 0.0 { y_top } else { 1.0 });
    let y_max = ((y_top / step).ceil().max(1.0)) * step;
    let (plot_w, plot_h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let x = |q: f64| LEFT + nines(q).min(x_max) / x_max * plot_w;
    let y = |ms: f64| TOP + plot_h - ms.min(y_max) / y_max * plot_h;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    let _ = writeln!(s, "<rect width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"white\"/>");
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">{}</text>",
        WIDTH / 2.0,
        escape(title)
    );
    // Grid and tick labels.
    for n in 0..=x_max as u32 {
        let gx = LEFT + f64::from(n) / x_max * plot_w;
        let _ =
            writeln!(s, "<line x1=\"{gx:.1}\" y1=\"{TOP}\" x2=\"{gx:.1}\" y2=\"{}\" stroke=\"#ddd\"/>", TOP + plot_h);
        let _ = writeln!(
            s,
            "<text x=\"{gx:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            TOP + plot_h + 18.0,
            percent_label(n)
        );
    }
    let mut v = 0.0;
    while v <= y_max + step / 2.0 {
        let gy = y(v);
        let _ =
            writeln!(s, "<line x1=\"{LEFT}\" y1=\"{gy:.1}\" x2=\"{}\" y2=\"{gy:.1}\" stroke=\"#ddd\"/>", LEFT + plot_w);
        let _ = writeln!(s, "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>", LEFT - 6.0, gy + 4.0, trim(v));
        v += step;
    }
    let _ = writeln!(
        s,
        "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{plot_w}\" height=\"{plot_h}\" fill=\"none\" stroke=\"#555\"/>"
    );
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">percentile</text>",
        LEFT + plot_w / 2.0,
        HEIGHT - 10.0
    );
    let _ = writeln!(
        s,
        "<text x=\"16\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {0})\">latency (ms)</text>",
        TOP + plot_h / 2.0
    );
    if series.iter().all(|l| l.points.is_empty()) {
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">no data</text>",
            LEFT + plot_w / 2.0,
            TOP + plot_h / 2.0
        );
    }
    for (i, line) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points: Vec<String> = line.points.iter().map(|&(q, ms)| format!("{:.1},{:.1}", x(q), y(ms))).collect();
        if !points.is_empty() {
            let width = if i == 0 { 2.5 } else { 1.5 };
            let _ = writeln!(
                s,
                "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"{width}\" points=\"{}\"/>",
                points.join(" ")
            );
        }
        let ly = TOP + 10.0 + i as f64 * 18.0;
        let lx = LEFT + plot_w + 12.0;
        let _ = writeln!(
            s,
            "<line x1=\"{lx}\" y1=\"{ly}\" x2=\"{}\" y2=\"{ly}\" stroke=\"{colour}\" stroke-width=\"2.5\"/>",
            lx + 20.0
        );
        let _ = writeln!(s, "<text x=\"{}\" y=\"{}\">{}</text>", lx + 26.0, ly + 4.0, escape(&line.label));
    }
    s.push_str("</svg>\n");
    s
}

/// A tick value without needless decimals.
fn trim(v: f64) -> String {
    let text = format!("{v:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attribute_numbers(svg: &str, attribute: &str) -> Vec<f64> {
        svg.split(&format!(" {attribute}=\"")).skip(1).filter_map(|rest| rest.split('"').next()?.parse().ok()).collect()
    }

    #[test]
    fn the_plot_is_one_svg_with_a_line_per_series_inside_its_frame() {
        let all = Series { label: "all <ops>".into(), points: vec![(0.0, 1.0), (0.5, 2.0), (0.99, 8.0), (1.0, 13.0)] };
        let fetch = Series { label: "FETCH".into(), points: vec![(0.0, 0.5), (0.999, 4.0)] };
        let svg = plot("imap-mix & friends", &[all, fetch], 1000);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<svg").count(), 1);
        assert!(svg.contains("imap-mix &amp; friends") && svg.contains("all &lt;ops&gt;"));
        // 1000 samples: the axis goes to 99.9 %; the y axis to a round 15 ms.
        assert!(svg.contains(">90%<") && svg.contains(">99%<") && svg.contains(">99.9%<"));
        assert!(!svg.contains(">99.99%<"));
        assert!(svg.contains(">15<") && !svg.contains(">20<"));
        // Every polyline point is inside the plot frame, x rising.
        for line in svg.lines().filter(|l| l.starts_with("<polyline")) {
            let points = line.split("points=\"").nth(1).unwrap().trim_end_matches("\"/>");
            let xy: Vec<(f64, f64)> = points
                .split(' ')
                .map(|p| {
                    let (a, b) = p.split_once(',').unwrap();
                    (a.parse().unwrap(), b.parse().unwrap())
                })
                .collect();
            assert!(xy.windows(2).all(|w| w[0].0 <= w[1].0));
            for (px, py) in xy {
                assert!((LEFT..=WIDTH - RIGHT).contains(&px) && (TOP..=HEIGHT - BOTTOM).contains(&py), "{px},{py}");
            }
        }
        for v in attribute_numbers(&svg, "x").into_iter().chain(attribute_numbers(&svg, "x1")) {
            assert!((0.0..=WIDTH).contains(&v));
        }
        // Tags balance: every element is self-closed or closed.
        assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
    }

    #[test]
    fn nines_and_labels() {
        assert_eq!(nines(0.0), 0.0);
        assert!((nines(0.99) - 2.0).abs() < 1e-9);
        assert_eq!(nines(1.0), MAX_NINES);
        assert_eq!(percent_label(4), "99.99%");
        assert_eq!(tick_step(13.0), 5.0);
        assert!(plot("empty", &[Series { label: "all".into(), points: vec![] }], 0).contains("no data"));
    }
}
