//! Send → event latency: `streams` SSE subscribers on one corp while sends arrive at a fixed
//! rate. Each send carries the instant it was due (coordinated omission corrected: a late send
//! counts from when it should have left); each subscriber records when its copy of the event
//! arrived. The same sends' HTTP answers are the baseline measured in the same run: how much
//! later than the sender hears "committed" does every watcher hear of it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use serde_json::json;

use crate::helpers::ADMIN_TOKEN;
use crate::scenarios::Setup;
use crate::sse::SseReader;

/// What one run measured.
pub struct EventLatency {
    /// Sends answered with success in the measured window.
    pub sends: u64,
    /// Event copies received for those sends, over all streams.
    pub deliveries: u64,
    /// Copies expected (sends × streams) that never arrived.
    pub missing: u64,
    /// Due time of the send → arrival at a stream, µs.
    pub to_event: Histogram<u64>,
    /// Due time of the send → its HTTP answer, µs.
    pub to_answer: Histogram<u64>,
    /// The sends' rate and the measured window, for deliveries per second.
    pub secs: f64,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds")
}

/// Marks a text as carrying its due time, in µs since the run's start.
const MARK: &str = "\"content\":\"due:";

/// The due time in an SSE event block, if it is a `message` event sent by this benchmark.
fn due_time(block: &[u8]) -> Option<u64> {
    let at = memchr::memmem::find(block, MARK.as_bytes())? + MARK.len();
    let digits = &block[at..];
    let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&digits[..len]).ok()?.parse().ok()
}

/// Opens `streams` subscriptions, waits until every one has said `open`, sends at `rate` for
/// `warmup + measure`, and collects what arrived.
pub async fn send_to_event(
    setup: &Setup,
    streams: usize,
    rate: f64,
    warmup: Duration,
    measure: Duration,
) -> Result<EventLatency, String> {
    let base = Instant::now();
    let path = format!("/api/v1/events?corpId={}", setup.corp_id);
    let measure_from = Arc::new(AtomicU64::new(u64::MAX));
    let (opened_tx, mut opened) = tokio::sync::mpsc::channel::<()>(streams);
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let mut subscribers = Vec::with_capacity(streams);
    for _ in 0..streams {
        let (url, path, opened, from, mut stop) = (
            setup.url.clone(),
            path.clone(),
            opened_tx.clone(),
            measure_from.clone(),
            stop.clone(),
        );
        subscribers.push(tokio::spawn(async move {
            let mut seen = histogram();
            let mut count = 0u64;
            let mut stream = SseReader::open(&url, &path, ADMIN_TOKEN)
                .await
                .map_err(|e| e.to_string())?;
            let mut is_open = false;
            loop {
                let mut opening = false;
                let more = tokio::select! {
                    more = stream.read(|block| {
                        let now = base.elapsed().as_micros() as u64;
                        if !is_open && memchr::memmem::find(block, b"event: open").is_some() {
                            is_open = true;
                            opening = true;
                        } else if let Some(due) = due_time(block) {
                            if due >= from.load(Ordering::Relaxed) {
                                count += 1;
                                let _ = seen.record(now.saturating_sub(due).max(1));
                            }
                        }
                    }) => more.map_err(|e| e.to_string())?,
                    _ = stop.changed() => break,
                };
                if opening {
                    let _ = opened.send(()).await;
                }
                if !more {
                    break;
                }
            }
            Ok::<_, String>((seen, count))
        }));
    }
    drop(opened_tx);
    for _ in 0..streams {
        tokio::time::timeout(Duration::from_secs(60), opened.recv())
            .await
            .map_err(|_| "the streams did not all open within 60 s".to_owned())?
            .ok_or("a stream failed before it opened")?;
    }

    // Fixed-rate sends, each due at its tick and marked with that time.
    let sender = crate::load::client(256);
    let send_url = format!("{}/cgi/message/send", setup.url);
    let (token, ea) = (format!("Bearer {}", setup.token), setup.ea.clone());
    let start = base.elapsed() + Duration::from_millis(50);
    let (from, end) = (start + warmup, start + warmup + measure);
    measure_from.store(from.as_micros() as u64, Ordering::Relaxed);
    let answers = Arc::new(Mutex::new((0u64, 0u64, histogram())));
    let interval = Duration::from_secs_f64(1.0 / rate);
    let mut sends = Vec::new();
    let mut n = 0u32;
    loop {
        let due = start + interval * n;
        if due >= end {
            break;
        }
        let now = base.elapsed();
        if due > now {
            tokio::time::sleep(due - now).await;
        }
        let body = Bytes::from(
            json!({"toUser": ["1000"], "msgType": "text",
                   "text": {"content": format!("due:{}", due.as_micros())}})
            .to_string(),
        );
        let request = sender
            .post(format!(
                "{send_url}?thirdTraceId=events-{}-{n}",
                std::process::id()
            ))
            .header("content-type", "application/json")
            .header("authorization", &token)
            .header("x-fs-ea", &ea)
            .body(body);
        let answers = answers.clone();
        let measured = due >= from;
        sends.push(tokio::spawn(async move {
            let ok = match request.send().await {
                Ok(r) => r.bytes().await.is_ok_and(|b| {
                    b.windows(14).any(|w| w == b"\"errorCode\":0,")
                        || b.windows(13).any(|w| w == b"\"errorCode\":0")
                }),
                Err(_) => false,
            };
            let answered = base.elapsed();
            if measured {
                let mut a = answers.lock().expect("answers lock");
                if ok {
                    a.0 += 1;
                    let _ = a.2.record((answered - due).as_micros().max(1) as u64);
                } else {
                    a.1 += 1;
                }
            }
        }));
        n += 1;
    }
    for send in sends {
        send.await.map_err(|e| e.to_string())?;
    }
    // Let the last events reach every stream, then stop listening.
    let settle = Instant::now() + Duration::from_secs(2);
    tokio::time::sleep_until(settle.into()).await;
    let (ok, errors, to_answer) = std::mem::replace(
        &mut *answers.lock().expect("answers lock"),
        (0, 0, histogram()),
    );
    if errors > 0 {
        return Err(format!("{errors} sends failed"));
    }
    let _ = stop_tx.send(true);
    let mut to_event = histogram();
    let mut deliveries = 0;
    for subscriber in subscribers {
        let (seen, count) = subscriber.await.map_err(|e| e.to_string())??;
        to_event.add(seen).map_err(|e| e.to_string())?;
        deliveries += count;
    }
    Ok(EventLatency {
        sends: ok,
        deliveries,
        missing: (ok * streams as u64).saturating_sub(deliveries),
        to_event,
        to_answer,
        secs: measure.as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_due_time_is_read_from_a_message_event() {
        let block = "id: 7\nevent: message\ndata: {\"seq\":7,\"message\":{\"content\":{\"content\":\"due:123456\"}}}\n\n";
        assert_eq!(due_time(block.as_bytes()), Some(123_456));
        assert_eq!(due_time(b"event: open\ndata: {\"head\":0}"), None);
    }
}
