//! Several `fxmsg serve` processes on one PostgreSQL database and one S3 bucket (moto) behave as
//! one server: what one node does, another serves at once.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use fxmsg_client::admin::AdminClient;
use fxmsg_client::events::{EventsQuery, StreamItem};
use fxmsg_client::native::{Fault, NewFault, Sandbox};
use fxmsg_client::{AuthStyle, Client, Credentials, MediaKind, RetryPolicy, SendMessage};
use fxmsg_store_postgres::testing::TempDatabase;
use serde_json::{json, Value};

use crate::s3::Moto;
use crate::support::{ADMIN_TOKEN, PNG};

const BUCKET: &str = "fxmsg-nodes";

/// A node: its process and the JSON line it printed at start.
struct Node {
    child: Child,
    url: String,
    started: Value,
    _dir: tempfile::TempDir,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a node with its own data directory on the shared database and bucket; the admin
/// token is set unless `admin_token` is `None`. Returns before reading its start line.
fn spawn_node(
    database: &TempDatabase,
    moto: &Moto,
    admin_token: Option<&str>,
) -> (Child, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_fxmsg"));
    command
        .args(["serve", "--json", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(["--database", database.url()])
        .args(["--media", &format!("s3://{BUCKET}/shared")])
        .args(["--s3-endpoint", &moto.endpoint, "--s3-region", "us-east-1"])
        .envs(moto.env())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("serve.stderr")).unwrap());
    if let Some(token) = admin_token {
        command.env("FXMSG_ADMIN_TOKEN", token);
    }
    (command.spawn().unwrap(), dir)
}

/// Reads a spawned node's start line.
fn started((mut child, dir): (Child, tempfile::TempDir)) -> Node {
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let started: Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("a node's start line {line:?}: {e}"));
    Node {
        child,
        url: started["url"].as_str().unwrap().to_owned(),
        started,
        _dir: dir,
    }
}

fn client(node: &Node, demo: &Sandbox) -> Client {
    let app = &demo.app;
    Client::builder(&node.url)
        .credentials(Credentials::new(
            &app.app.app_id,
            &app.app_secret,
            &app.permanent_code,
        ))
        .auth_style(AuthStyle::Bearer)
        .retry(RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn nodes_started_together_make_one_admin_token_and_one_demo() {
    let database = TempDatabase::new().await;
    let moto = Moto::start().await;
    moto.bucket(BUCKET).await;
    let children: Vec<_> = (0..3).map(|_| spawn_node(&database, &moto, None)).collect();
    let nodes: Vec<Node> = children.into_iter().map(started).collect();
    let tokens: Vec<&str> = nodes
        .iter()
        .filter_map(|n| n.started["adminToken"].as_str())
        .collect();
    assert_eq!(tokens.len(), 1, "one node shows the new admin token");
    let demos = nodes
        .iter()
        .filter(|n| !n.started["demo"].is_null())
        .count();
    assert_eq!(demos, 1, "one node made the demo");
    for node in &nodes {
        let corps = AdminClient::new(&node.url, tokens[0])
            .list_corps()
            .await
            .unwrap();
        assert_eq!(corps.len(), 1, "{}: {corps:?}", node.url);
    }
}

/// Two nodes on one new database and one bucket, with the demo they made, an admin client and
/// a demo-app client for each.
struct TwoNodes {
    a: Node,
    b: Node,
    demo: Sandbox,
    admin_a: AdminClient,
    admin_b: AdminClient,
    on_a: Client,
    on_b: Client,
    // Dropped after the nodes.
    _moto: Moto,
    _database: TempDatabase,
}

impl TwoNodes {
    async fn start() -> TwoNodes {
        let database = TempDatabase::new().await;
        let moto = Moto::start().await;
        moto.bucket(BUCKET).await;
        let a = started(spawn_node(&database, &moto, Some(ADMIN_TOKEN)));
        let b = started(spawn_node(&database, &moto, Some(ADMIN_TOKEN)));
        let demo = demo_of([&a, &b]);
        TwoNodes {
            admin_a: AdminClient::new(&a.url, ADMIN_TOKEN),
            admin_b: AdminClient::new(&b.url, ADMIN_TOKEN),
            on_a: client(&a, &demo),
            on_b: client(&b, &demo),
            a,
            b,
            demo,
            _moto: moto,
            _database: database,
        }
    }
}

#[tokio::test]
async fn two_nodes_on_one_database_and_bucket_behave_as_one_server() {
    // Every part bound, so none is dropped before the test ends.
    let TwoNodes {
        a,
        b,
        demo,
        admin_a,
        admin_b,
        on_a,
        on_b,
        _moto,
        _database,
    } = TwoNodes::start().await;

    // Node B's stream, open before anything is sent through A.
    let mut stream = Box::pin(admin_b.events(EventsQuery::default()));
    let Some(Ok(StreamItem::Open(head))) = stream.next().await else {
        panic!("the stream opens")
    };

    // A token issued by A works on B.
    let token = on_a.access_token().await.unwrap();
    let http = reqwest::Client::new();
    let sent: Value = http
        .post(format!("{}/cgi/message/send", b.url))
        .bearer_auth(&token)
        .header("x-fs-ea", &demo.corp.ea)
        .json(&json!({"toUser": ["1000"], "msgType": "text", "text": {"content": "via B with A's token"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sent["errorCode"], 0, "{sent}");

    // Media uploaded through A is a cover on A and downloads through B.
    let cover = on_a
        .upload_bytes(
            MediaKind::MessageImage,
            "cover.png",
            Bytes::from_static(PNG),
        )
        .await
        .unwrap();
    let article = SendMessage::articles(
        ["1000", "1001"],
        vec![fxmsg_client::Article::text("Shared", &cover, "one server")],
    )
    .as_service(&demo.service_account.service_id);
    let message = on_a.send(&article).await.unwrap().message_id;
    let mut out = Vec::new();
    on_b.download(&cover, &mut out).await.unwrap();
    assert_eq!(out, PNG);

    // B streams both sends, in order, and lists the message; B revokes it and A sees that.
    let mut seen = Vec::new();
    while seen.len() < 2 {
        match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
            Ok(Some(Ok(StreamItem::Event(event)))) => seen.push(event),
            Ok(Some(Ok(_))) => {}
            other => panic!("node B's stream: {other:?}"),
        }
    }
    let positions: Vec<i64> = seen.iter().map(|e| e.global_seq).collect();
    assert_eq!(positions, [head.head + 1, head.head + 2]);
    assert_eq!(seen[1].message_id, message);
    assert_eq!(
        admin_b
            .get_message(&message)
            .await
            .unwrap()
            .message
            .message_id,
        message
    );
    on_b.revoke(&demo.service_account.service_id, &message)
        .await
        .unwrap();
    assert!(admin_a
        .get_message(&message)
        .await
        .unwrap()
        .message
        .revoked_at
        .is_some());
    // A stream resumed on A from B's position carries the revoke next.
    let mut resumed = Box::pin(admin_a.events(EventsQuery {
        since: Some(positions[1]),
        ..Default::default()
    }));
    let revoke = loop {
        match tokio::time::timeout(Duration::from_secs(10), resumed.next()).await {
            Ok(Some(Ok(StreamItem::Event(event)))) => break event,
            Ok(Some(Ok(_))) => {}
            other => panic!("node A's stream: {other:?}"),
        }
    };
    assert_eq!(
        (revoke.global_seq, revoke.message_id.as_str()),
        (positions[1] + 1, message.as_str())
    );

    // Retries of one send landing on both nodes at once deliver once.
    let retry = |node: &Node| {
        http.post(format!(
            "{}/cgi/message/send?thirdTraceId=across-nodes",
            node.url
        ))
        .bearer_auth(&token)
        .header("x-fs-ea", &demo.corp.ea)
        .json(&json!({"toUser": ["1002"], "msgType": "text", "text": {"content": "once"}}))
        .send()
    };
    let (first, second) = tokio::join!(retry(&a), retry(&b));
    let first: Value = first.unwrap().json().await.unwrap();
    let second: Value = second.unwrap().json().await.unwrap();
    assert_eq!(first["errorCode"], 0, "{first}");
    assert_eq!(first["messageId"], second["messageId"], "{first} {second}");
    let delivered = admin_a
        .inbox(&demo.corp.corp_id, "1002", None)
        .await
        .unwrap();
    assert_eq!(delivered.items.len(), 1, "delivered once");

    // An employee's token issued through A works on B until it is revoked through A.
    let corp = &demo.corp.corp_id;
    let issued = admin_a.issue_employee_token(corp, "1000").await.unwrap();
    let inbox_on_b = || {
        http.get(format!("{}/api/v1/inbox", b.url))
            .bearer_auth(&issued.token)
            .send()
    };
    assert_eq!(inbox_on_b().await.unwrap().status(), 200);
    admin_a
        .revoke_employee_credential(corp, "1000", &issued.credential.credential_id)
        .await
        .unwrap();
    assert_eq!(inbox_on_b().await.unwrap().status(), 401);

    // An employee stopped through A is no recipient on B.
    admin_a
        .set_employee_status(corp, "1003", fxmsg_client::native::EmployeeStatus::Stopped)
        .await
        .unwrap();
    let to_stopped = on_b.send(&SendMessage::text(["1003"], "gone")).await;
    assert_eq!(
        to_stopped.unwrap_err().code(),
        Some(fxmsg_client::ErrorCode::InvalidToUser)
    );

    // An app disabled through A is refused by B at once.
    admin_a
        .set_app_enabled(&demo.corp.corp_id, &demo.app.app.app_id, false)
        .await
        .unwrap();
    let refused = on_b.send(&SendMessage::text(["1000"], "no")).await;
    assert_eq!(
        refused.unwrap_err().code(),
        Some(fxmsg_client::ErrorCode::AppDisabled)
    );
}

/// The demo a pair of nodes made (one of them did).
fn demo_of(nodes: [&Node; 2]) -> Sandbox {
    let demo = nodes
        .iter()
        .map(|n| n.started["demo"].clone())
        .find(|d| !d.is_null())
        .expect("one node made the demo");
    serde_json::from_value(demo).unwrap()
}

#[tokio::test]
async fn a_node_killed_under_load_loses_no_acknowledged_message() {
    let database = TempDatabase::new().await;
    let moto = Moto::start().await;
    moto.bucket(BUCKET).await;
    let mut a = started(spawn_node(&database, &moto, Some(ADMIN_TOKEN)));
    let b = started(spawn_node(&database, &moto, Some(ADMIN_TOKEN)));
    let demo = demo_of([&a, &b]);
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let senders: Vec<_> = [&a, &a, &b, &b]
        .iter()
        .map(|node| {
            let (client, acked) = (client(node, &demo), acked.clone());
            tokio::spawn(async move {
                let to = ["1000", "1001", "1002"];
                // Until its node is gone, or 150 acknowledgements in all.
                while acked.lock().unwrap().len() < 150 {
                    match client.send(&SendMessage::text(to, "durable?")).await {
                        Ok(sent) => acked.lock().unwrap().push(sent.message_id),
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 60 {
        assert!(
            std::time::Instant::now() < deadline,
            "sends were not acknowledged in time"
        );
        tokio::task::yield_now().await;
    }
    a.child.kill().unwrap(); // SIGKILL, sends in flight
    a.child.wait().unwrap();
    for sender in senders {
        sender.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let admin_b = AdminClient::new(&b.url, ADMIN_TOKEN);
    for id in &acked {
        let found = admin_b.get_message(id).await.unwrap();
        assert_eq!(found.deliveries.len(), 3, "{id}: all its inbox rows");
    }
    println!(
        "node killed under load: {} acknowledged, 0 lost",
        acked.len()
    );
}

/// Waits until `node` lists faults that satisfy `done`, for at most ten seconds.
async fn until_listed(node: &AdminClient, what: &str, done: impl Fn(&[Fault]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let faults = node.list_faults().await.unwrap();
        if done(&faults) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {faults:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_fault_planned_on_one_node_fires_on_every_node_as_often_as_planned() {
    // Every part bound, so none is dropped before the test ends.
    let TwoNodes {
        a: _a,
        b: _b,
        demo,
        admin_a,
        admin_b,
        on_a,
        on_b,
        _moto,
        _database,
    } = TwoNodes::start().await;
    let send = |node: &Client| {
        let node = node.clone();
        async move { node.send(&SendMessage::text(["1000"], "faulty")).await }
    };

    // Three failures planned through A are shared out between the nodes, in call order.
    let planned = admin_a
        .add_fault(&NewFault {
            path: "/cgi/message/send".into(),
            error_code: Some(-1),
            times: Some(3),
            ..NewFault::default()
        })
        .await
        .unwrap();
    until_listed(&admin_b, "B hears of the fault", |f| {
        f.iter().any(|f| f.id == planned.id)
    })
    .await;
    let mut answers = Vec::new();
    for node in [&on_b, &on_a, &on_b, &on_a, &on_b, &on_a] {
        answers.push(send(node).await.err().and_then(|e| e.code()));
    }
    let busy = Some(fxmsg_client::ErrorCode::SystemBusy);
    assert_eq!(answers, [busy, busy, busy, None, None, None]);
    for node in [&admin_a, &admin_b] {
        until_listed(node, "both list it used up", |f| {
            f.iter()
                .any(|f| f.id == planned.id && (f.fired, f.remaining) == (3, Some(0)))
        })
        .await;
    }

    // A fault planned through B until deleted fires on A until A deletes it; then B is clear.
    let endless = admin_b
        .add_fault(&NewFault {
            path: "/cgi/message/send".into(),
            error_code: Some(-1),
            until_deleted: true,
            ..NewFault::default()
        })
        .await
        .unwrap();
    until_listed(&admin_a, "A hears of it", |f| {
        f.iter().any(|f| f.id == endless.id)
    })
    .await;
    assert_eq!(send(&on_a).await.err().and_then(|e| e.code()), busy);
    admin_a.delete_fault(endless.id).await.unwrap();
    until_listed(&admin_b, "B hears it went", |f| {
        f.iter().all(|f| f.id != endless.id)
    })
    .await;
    assert!(send(&on_b).await.is_ok());
    let delivered = admin_a
        .inbox(&demo.corp.corp_id, "1000", None)
        .await
        .unwrap();
    assert_eq!(
        delivered.items.len(),
        4,
        "only the calls no fault took were sent"
    );
}
