//! The result table: printed, and written into BENCHMARKS.md between markers so the analysis
//! around it survives new runs.

use std::fmt::Write;
use std::path::Path;

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    /// Scenario and figure.
    pub name: String,
    /// Measured value.
    pub value: f64,
    /// Unit of `value`.
    pub unit: &'static str,
    /// Baseline measured in the same run, with its name, when the figure is compared.
    pub baseline: Option<(String, f64)>,
    /// Target, as text, and whether this run met it.
    pub target: Option<(String, bool)>,
}

impl Row {
    /// A figure with nothing to compare against.
    pub fn plain(name: impl Into<String>, value: f64, unit: &'static str) -> Row {
        Row {
            name: name.into(),
            value,
            unit,
            baseline: None,
            target: None,
        }
    }

    /// Adds a baseline.
    pub fn against(mut self, name: impl Into<String>, value: f64) -> Row {
        self.baseline = Some((name.into(), value));
        self
    }

    /// Adds a target and whether it was met.
    pub fn target(mut self, text: impl Into<String>, met: bool) -> Row {
        self.target = Some((text.into(), met));
        self
    }

    /// `value / baseline`.
    pub fn ratio(&self) -> Option<f64> {
        self.baseline.as_ref().map(|(_, b)| self.value / b)
    }
}

fn number(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The table in Markdown.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from("| figure | value | baseline (same run) | ratio | target | met |\n|---|---:|---|---:|---|---|\n");
    for r in rows {
        let baseline = r
            .baseline
            .as_ref()
            .map_or(String::new(), |(n, v)| format!("{n}: {}", number(*v)));
        let ratio = r.ratio().map_or(String::new(), |x| format!("{x:.2}"));
        let (target, met) = r.target.as_ref().map_or((String::new(), ""), |(t, m)| {
            (t.clone(), if *m { "yes" } else { "**no**" })
        });
        let _ = writeln!(
            out,
            "| {} | {} {} | {baseline} | {ratio} | {target} | {met} |",
            r.name,
            number(r.value),
            r.unit
        );
    }
    out
}

const START: &str = "<!-- bench:start -->";
const END: &str = "<!-- bench:end -->";

/// Writes the run into `path` between the markers, keeping everything else.
pub fn write_markdown(path: &Path, run: &str) -> std::io::Result<()> {
    let existing = std::fs::read_to_string(path)
        .unwrap_or_else(|_| format!("# fxmsg benchmarks\n\n{START}\n{END}\n"));
    let section = format!("{START}\n{run}\n{END}");
    let updated = match (existing.find(START), existing.find(END)) {
        (Some(a), Some(b)) if a < b => {
            format!("{}{section}{}", &existing[..a], &existing[b + END.len()..])
        }
        _ => format!("{existing}\n{section}\n"),
    };
    std::fs::write(path, updated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_run_replaces_only_the_marked_section() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("B.md");
        std::fs::write(&path, format!("intro\n{START}\nold\n{END}\nanalysis\n")).unwrap();
        write_markdown(&path, "new").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("intro\n{START}\nnew\n{END}\nanalysis\n"));
    }

    #[test]
    fn ratios_and_targets_show_in_the_table() {
        let rows = [Row::plain("send-1", 50.0, "req/s")
            .against("http", 100.0)
            .target("≥ 0.40", true)];
        let t = table(&rows);
        assert!(t.contains("| 0.50 |") && t.contains("| yes |"), "{t}");
    }
}
