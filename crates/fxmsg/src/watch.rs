//! `fxmsg events` and `fxmsg wait`: the event stream and the wait API from the command line.

use std::process::ExitCode;
use std::time::Duration;

use futures_util::StreamExt;
use fxmsg_client::admin::MessageQuery;
use fxmsg_client::events::{EventsQuery, StreamItem};
use fxmsg_client::native::Event;

use crate::admin::{failed, print};
use crate::cli::{EventsArgs, WaitArgs};
use crate::exit;

/// Prints events as they commit, until interrupted or `--count` events.
pub async fn events(args: EventsArgs) -> ExitCode {
    let client = match args.server.client() {
        Ok(client) => client,
        Err(code) => return code,
    };
    let by_corp = args.corp.is_some();
    let query = EventsQuery {
        corp_id: args.corp,
        since: args.since,
    };
    let mut stream = Box::pin(client.events(query));
    let mut printed = 0;
    loop {
        let item = tokio::select! {
            item = stream.next() => item,
            _ = tokio::signal::ctrl_c() => return ExitCode::SUCCESS,
        };
        match item {
            None => return ExitCode::SUCCESS,
            Some(Err(e)) => return failed(&e),
            // Status lines go to stderr, so stdout holds events only.
            Some(Ok(StreamItem::Open(head))) => {
                eprintln!("fxmsg: following events after {}", head.head);
            }
            Some(Ok(StreamItem::Reset(head))) => eprintln!(
                "fxmsg: reset: {}; following from {}",
                head.reason.unwrap_or_default(),
                head.head
            ),
            Some(Ok(StreamItem::Event(event))) => {
                if args.output.json {
                    println!("{}", serde_json::to_string(&event).unwrap_or_default());
                } else {
                    println!("{}", line(&event, by_corp));
                }
                printed += 1;
                if args.count.is_some_and(|n| printed >= n) {
                    return ExitCode::SUCCESS;
                }
            }
        }
    }
}

/// One event as a line: its id in the stream (the corp's sequence when following one corp),
/// kind, corp, message, type, and who.
fn line(e: &Event, by_corp: bool) -> String {
    let id = if by_corp { e.seq } else { e.global_seq };
    let who = match &e.open_user_id {
        Some(reader) => format!("by {reader}"),
        None => format!("to {} recipient(s)", e.message.recipients.len()),
    };
    format!(
        "{id} {} {} {} {} {who}",
        e.kind.as_str(),
        e.corp_id,
        e.message_id,
        e.message.msg_type
    )
}

/// Waits for a matching message: exit 0 with it printed, or exit 5 at the timeout.
pub async fn wait(args: WaitArgs) -> ExitCode {
    let client = match args.server.client() {
        Ok(client) => client,
        Err(code) => return code,
    };
    let query = MessageQuery {
        corp_id: args.corp,
        app_id: args.app,
        recipient: args.to,
        msg_type: args.msg_type,
        text: args.text,
        ..Default::default()
    };
    match client
        .wait_for_message(&query, Duration::from_secs(args.timeout))
        .await
    {
        Ok(Some(message)) => {
            print(
                &serde_json::to_value(&message).unwrap_or_default(),
                args.output.json,
            );
            ExitCode::SUCCESS
        }
        Ok(None) => {
            eprintln!("fxmsg: no matching message within {} s", args.timeout);
            ExitCode::from(exit::TIMED_OUT)
        }
        Err(e) => failed(&e),
    }
}
