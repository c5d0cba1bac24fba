//! Log output on stderr, as text lines or JSON objects.
//!
//! Text lines are tracing-subscriber's full format with its fields written by [`TextFields`]:
//! the same `name=value` pairs, but numbers, booleans and strings go straight into the line
//! instead of through `fmt`, and its timestamp by [`Utc`], which formats the date and time once a
//! second. Through `fmt`, fields and timestamp were most of what a request's log line cost (about
//! 2 µs of a send's ~34 µs under load on the benchmark's VM).

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::fmt::format::{DefaultFields, Writer};
use tracing_subscriber::fmt::time::FormatTime;

/// Log output: human-readable lines, or one JSON object per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, coloured only on a terminal.
    Text,
    /// One JSON object per line.
    Json,
}

/// Sends logs to stderr, filtered by `RUST_LOG` (default `info,sqlx=warn`). `fxmsg serve` and the
/// benchmark's server both log through this, so the benchmark pays what a deployment pays.
pub fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.with_timer(Utc).fmt_fields(TextFields).init(),
        LogFormat::Json => logs.json().init(),
    }
}

/// The time of a log line in UTC to the microsecond, as tracing-subscriber's default timer writes
/// it (`2026-12-03T16:09:07.400093Z`). The part up to the second is formatted when the second
/// changes and kept per thread; each line then only appends its microseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Utc;

impl FormatTime for Utc {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        thread_local! {
            /// The second last formatted on this thread, and its text.
            static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let (secs, micros) = (now.as_secs(), now.subsec_micros());
        SECOND.with_borrow_mut(|(second, text)| {
            if *second != secs {
                text.clear();
                let time = i64::try_from(secs)
                    .ok()
                    .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
                    .unwrap_or_default();
                write!(text, "{}", time.format("%Y-%m-%dT%H:%M:%S"))?;
                *second = secs;
            }
            w.write_str(text)
        })?;
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(micros);
        w.write_char('.')?;
        w.write_str(&"000000"[digits.len()..])?;
        w.write_str(digits)?;
        w.write_char('Z')
    }
}

/// Writes an event's fields as `message name=value name=value`. A string is written bare when
/// nothing in it needs quoting (as logfmt does), and quoted and escaped as `Debug` quotes it
/// otherwise; numbers and booleans are written bare; anything else as its `Debug` form. Control
/// characters are escaped in every field, so a logged value cannot drive the terminal. On a
/// terminal, where names are styled, tracing-subscriber's own visitor writes the fields, with
/// strings bare in the same cases.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextFields;

impl<'a> MakeVisitor<Writer<'a>> for TextFields {
    type Visitor = TextVisitor<'a>;

    fn make_visitor(&self, writer: Writer<'a>) -> TextVisitor<'a> {
        if writer.has_ansi_escapes() {
            TextVisitor::Styled(DefaultFields::new().make_visitor(writer))
        } else {
            TextVisitor::Plain(Plain {
                writer,
                empty: true,
                result: Ok(()),
            })
        }
    }
}

/// The visitor [`TextFields`] makes for one event or span.
pub enum TextVisitor<'a> {
    /// On a terminal: tracing-subscriber's own, which styles the names.
    Styled(<DefaultFields as MakeVisitor<Writer<'a>>>::Visitor),
    /// Anywhere else.
    Plain(Plain<'a>),
}

/// Plain fields, written as they are visited.
pub struct Plain<'a> {
    writer: Writer<'a>,
    empty: bool,
    result: fmt::Result,
}

impl Plain<'_> {
    /// Writes the separator and `name=` before a field's value (nothing but the separator for
    /// the message); false if an earlier write failed.
    fn start(&mut self, field: &Field) -> bool {
        if self.result.is_err() {
            return false;
        }
        let name = field.name();
        let name = name.strip_prefix("r#").unwrap_or(name);
        self.result = self.separate().and_then(|()| {
            if name == "message" {
                return Ok(());
            }
            self.writer.write_str(name)?;
            self.writer.write_char('=')
        });
        self.result.is_ok()
    }

    /// A space before every field but the first.
    fn separate(&mut self) -> fmt::Result {
        if std::mem::take(&mut self.empty) {
            return Ok(());
        }
        self.writer.write_char(' ')
    }

    fn number(&mut self, field: &Field, value: impl itoa::Integer) {
        if self.start(field) {
            self.result = self.writer.write_str(itoa::Buffer::new().format(value));
        }
    }
}

impl Visit for Plain<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if !self.start(field) {
            return;
        }
        self.result = if field.name() == "message" {
            write_escaped(&mut self.writer, value)
        } else if is_bare(value) {
            self.writer.write_str(value)
        } else {
            write!(self.writer, "{value:?}")
        };
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.number(field, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.number(field, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.start(field) {
            self.result = self.writer.write_str(if value { "true" } else { "false" });
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !self.start(field) {
            return;
        }
        // Escaped whatever the field: a `%` value or an error's text can carry what a client sent.
        self.result = write!(Escaping(&mut self.writer), "{value:?}");
    }

    /// An error and, as tracing-subscriber writes them, its sources:
    /// `error=outer error.sources=[inner, innermost]`.
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if !self.start(field) {
            return;
        }
        let name = field.name();
        let name = name.strip_prefix("r#").unwrap_or(name);
        let mut w = Escaping(&mut self.writer);
        self.result = (|| {
            write!(w, "{value}")?;
            let Some(mut source) = value.source() else {
                return Ok(());
            };
            write!(w, " {name}.sources=[{source}")?;
            while let Some(next) = source.source() {
                write!(w, ", {next}")?;
                source = next;
            }
            w.write_char(']')
        })();
    }
}

/// Whether `value` can stand in a line unquoted: not empty, and no whitespace, quote, `=`,
/// backslash or control character (C1 controls included: some terminals act on them).
fn is_bare(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| !c.is_control() && !c.is_whitespace() && c != '"' && c != '=' && c != '\\')
}

/// Writes `text` with its control characters escaped.
fn write_escaped<W: fmt::Write + ?Sized>(writer: &mut W, text: &str) -> fmt::Result {
    if !text.chars().any(char::is_control) {
        return writer.write_str(text);
    }
    for c in text.chars() {
        if c.is_control() {
            write!(writer, "{}", c.escape_default())?;
        } else {
            writer.write_char(c)?;
        }
    }
    Ok(())
}

/// A writer that escapes the control characters written through it.
struct Escaping<'w, W: ?Sized>(&'w mut W);

impl<W: fmt::Write + ?Sized> fmt::Write for Escaping<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_escaped(&mut *self.0, s)
    }
}

impl Visit for TextVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        match self {
            // Bare as in plain lines: tracing-subscriber's own would quote every string.
            TextVisitor::Styled(v) if is_bare(value) => {
                v.record_debug(field, &format_args!("{value}"))
            }
            TextVisitor::Styled(v) => v.record_str(field, value),
            TextVisitor::Plain(v) => v.record_str(field, value),
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match self {
            TextVisitor::Styled(v) => v.record_u64(field, value),
            TextVisitor::Plain(v) => v.record_u64(field, value),
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        match self {
            TextVisitor::Styled(v) => v.record_i64(field, value),
            TextVisitor::Plain(v) => v.record_i64(field, value),
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        match self {
            TextVisitor::Styled(v) => v.record_bool(field, value),
            TextVisitor::Plain(v) => v.record_bool(field, value),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match self {
            TextVisitor::Styled(v) => v.record_debug(field, value),
            TextVisitor::Plain(v) => v.record_debug(field, value),
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        match self {
            TextVisitor::Styled(v) => v.record_error(field, value),
            TextVisitor::Plain(v) => v.record_error(field, value),
        }
    }
}

impl VisitOutput<fmt::Result> for TextVisitor<'_> {
    fn finish(self) -> fmt::Result {
        match self {
            TextVisitor::Styled(v) => v.finish(),
            TextVisitor::Plain(v) => v.result,
        }
    }
}

impl VisitFmt for TextVisitor<'_> {
    fn writer(&mut self) -> &mut dyn fmt::Write {
        match self {
            TextVisitor::Styled(v) => v.writer(),
            TextVisitor::Plain(v) => &mut v.writer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Formats one event's fields with [`TextFields`], as a text log line carries them.
    fn line(record: impl FnOnce()) -> String {
        line_with(false, record)
    }

    /// [`line`], styled for a terminal when `ansi` is set.
    fn line_with(ansi: bool, record: impl FnOnce()) -> String {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Captured(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Captured {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(ansi)
            .without_time()
            .with_level(false)
            .with_target(false)
            .fmt_fields(TextFields)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, record);
        let bytes = captured.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap().trim_end().to_owned()
    }

    /// The timer writes what tracing-subscriber's default one writes, to the microsecond.
    #[test]
    fn the_time_reads_as_the_default_timers() {
        let format = |timer: &dyn FormatTime| {
            let mut text = String::new();
            timer.format_time(&mut Writer::new(&mut text)).unwrap();
            text
        };
        // Twice: the second line reuses the formatted second.
        for _ in 0..2 {
            // Compared to the second: the two clocks are read a moment apart, and a second may
            // turn in between (not three times running).
            let (mut ours, mut theirs) = (String::new(), String::new());
            for _ in 0..3 {
                (ours, theirs) = (
                    format(&Utc),
                    format(&tracing_subscriber::fmt::time::SystemTime),
                );
                if ours.get(..19) == theirs.get(..19) {
                    break;
                }
            }
            assert_eq!(ours.get(..19), theirs.get(..19), "{ours} against {theirs}");
            assert_eq!(ours.len(), theirs.len(), "{ours} against {theirs}");
            assert_eq!(ours.as_bytes()[19], b'.');
            assert!(ours[20..26].bytes().all(|b| b.is_ascii_digit()), "{ours}");
            assert!(ours.ends_with('Z'), "{ours}");
        }
    }

    #[test]
    fn fields_are_written_bare_when_nothing_needs_quoting() {
        let written = line(|| {
            tracing::info!(
                trace_id = "E-O.1f",
                method = %"POST",
                path = "/cgi/message/send",
                status = 200u64,
                delta = -3i64,
                ok = true,
                "handled"
            )
        });
        assert_eq!(
            written,
            "handled trace_id=E-O.1f method=POST path=/cgi/message/send status=200 delta=-3 ok=true"
        );
    }

    #[test]
    fn strings_that_need_it_are_quoted_and_escaped() {
        let written = line(|| {
            tracing::warn!(
                empty = "",
                spaced = "a b",
                quoted = "say \"hi\"",
                pair = "a=b",
                escape = "\u{1b}[31mred",
                csi = "\u{9b}31m",
                list = ?["x"],
                "stop"
            )
        });
        assert_eq!(
            written,
            r#"stop empty="" spaced="a b" quoted="say \"hi\"" pair="a=b" escape="\u{1b}[31mred" csi="\u{9b}31m" list=["x"]"#
        );
    }

    /// On a terminal the names are styled, and a string that needs no quotes has none there
    /// either.
    #[test]
    fn styled_lines_write_plain_strings_bare_too() {
        let written = line_with(true, || {
            tracing::info!(path = "/cgi/message/send", note = "a b", "handled")
        });
        assert!(written.contains("\u{1b}["), "no styling: {written:?}");
        assert!(written.contains("/cgi/message/send"), "{written:?}");
        assert!(!written.contains("\"/cgi/message/send\""), "{written:?}");
        assert!(written.contains("\"a b\""), "{written:?}");
    }

    /// A message cannot carry a terminal escape into the line, whether it is a literal string or
    /// formatted from a value.
    #[test]
    fn control_characters_in_the_message_are_escaped() {
        let evil = "\u{1b}]0;owned\u{7}";
        assert_eq!(
            line(|| tracing::info!("got {evil}")),
            r"got \u{1b}]0;owned\u{7}"
        );
        assert_eq!(
            line(|| tracing::info!(message = evil)),
            r"\u{1b}]0;owned\u{7}"
        );
        assert!(!line(|| tracing::info!("{}", "tab\there")).contains('\t'));
        // In a displayed value or an error as well.
        let displayed = line(|| tracing::warn!(error = %evil, "failed"));
        assert_eq!(displayed, r"failed error=\u{1b}]0;owned\u{7}");
        let error = std::io::Error::other(evil);
        let recorded = line(|| tracing::warn!(error = &error as &dyn std::error::Error, "failed"));
        assert_eq!(recorded, r"failed error=\u{1b}]0;owned\u{7}");
    }

    /// An error is written with its chain of sources, as tracing-subscriber writes it, and on a
    /// terminal too a source cannot drive it.
    #[test]
    fn errors_carry_their_sources() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("sending failed")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let error = Outer(std::io::Error::other("disk\u{1b}[2J"));
        let plain = line(|| tracing::warn!(error = &error as &dyn std::error::Error, "x"));
        assert_eq!(
            plain,
            r"x error=sending failed error.sources=[disk\u{1b}[2J]"
        );
        let styled = line_with(true, || {
            tracing::warn!(error = &error as &dyn std::error::Error, "x")
        });
        assert!(styled.contains("sources"), "{styled:?}");
        assert!(!styled.contains("disk\u{1b}"), "{styled:?}");
    }
}
