//! With two corps, no endpoint lets one corp touch the other's data, and a foreign id gets exactly
//! the answer a missing id gets.

use bytes::Bytes;
use fxmsg_client::{AuthStyle, MediaKind, SendMessage};
use serde_json::{json, Value};

use crate::support::{TestServer, PNG};

/// Ids one path parameter can name: (corp B's record, a missing one, corp A's own).
type Ids<'a> = (&'a str, &'a str, &'a str);

/// Builds a request body around an id.
type BodyFor<'a> = Box<dyn Fn(&str) -> Value + 'a>;

/// The answer with the id replaced, so a foreign and a missing id can be compared.
fn normalized(mut r: Value, id: &str) -> Value {
    r["traceId"] = json!("-");
    let description = r["errorDescription"]
        .as_str()
        .unwrap_or_default()
        .replace(id, "ID");
    r["errorDescription"] = json!(description);
    r
}

#[tokio::test]
async fn a_foreign_id_behaves_exactly_like_a_missing_one() {
    let server = TestServer::start().await;
    let a = server.client(AuthStyle::Legacy);
    let media = a
        .upload_bytes(MediaKind::MessageImage, "a.png", Bytes::from_static(PNG))
        .await
        .unwrap();
    let message = a
        .send(&SendMessage::text(["1000"], "private"))
        .await
        .unwrap()
        .message_id;

    let b = server.other_corp("beta").await;
    let b_service = server
        .admin
        .create_service_account(&b.corp.corp_id, "B notices")
        .await
        .unwrap();
    let missing = "11111111-2222-3333-4444-555555555555";
    let server = &server;
    let as_b = |path: &'static str, body: Value| {
        let app = b.app.clone();
        async move { server.post_legacy_as(&app, path, body).await }
    };
    let probes: Vec<(&str, BodyFor)> = vec![
        ("/media/download", Box::new(|id| json!({"mediaId": id}))),
        ("/media/delete", Box::new(|id| json!({"mediaId": id}))),
        (
            "/cgi/app/message/revoke",
            Box::new(|id| json!({"serviceId": b_service.service_id, "messageId": id})),
        ),
        (
            "/cgi/message/send",
            Box::new(|id| {
                json!({"toUser": [b.employee.user_id], "msgType": "articles",
            "articles": [{"title": "t", "coverImage": id, "type": "TEXT", "content": "c"}]})
            }),
        ),
    ];
    for (path, body) in probes {
        let foreign_id = if path.contains("message/revoke") {
            &message
        } else {
            &media
        };
        let foreign = as_b(path, body(foreign_id)).await;
        let unknown = as_b(path, body(missing)).await;
        assert_ne!(foreign["errorCode"], 0, "{path}: {foreign}");
        assert_eq!(
            normalized(foreign, foreign_id),
            normalized(unknown, missing),
            "{path}"
        );
    }
    // A's service account is not B's either.
    let r = as_b(
        "/cgi/app/message/revoke",
        json!({"serviceId": server.service_id(), "messageId": message}),
    )
    .await;
    assert_eq!(r["errorCode"], 15002);
    // Corp A's employees are not recipients for corp B.
    let r = as_b("/cgi/message/send", json!({"toUser": [server.employee(0).open_user_id], "msgType": "text", "text": {"content": "x"}})).await;
    assert_eq!(r["errorCode"], 11016);

    // A's data is intact.
    let mut out = Vec::new();
    a.download(&media, &mut out).await.unwrap();
    assert_eq!(out, PNG);
    let detail = server.admin.get_message(&message).await.unwrap();
    assert!(detail.message.revoked_at.is_none());
}

#[tokio::test]
async fn a_token_of_one_corp_is_refused_for_the_other() {
    let server = TestServer::start().await;
    let b = server.other_corp("gamma").await;
    let (b_token, _) = server.legacy_token_for(&b.app).await;
    let body = json!({"corpAccessToken": b_token, "corpId": server.demo.corp.corp_id, "toUser": ["1000"], "msgType": "text", "text": {"content": "x"}});
    assert_eq!(
        server.post("/cgi/message/send", &body).await["errorCode"],
        20016
    );
    let r = server
        .post_bearer("/cgi/message/send", &b_token, Some("demo"), &body)
        .await;
    assert_eq!(r["errorCode"], 20016);
}

/// A request of the matrix: method, path, body; its answer as compared (status and body, the
/// probed id replaced).
async fn answer(
    server: &TestServer,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
    id: &str,
) -> (u16, String) {
    let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let mut request = server
        .http()
        .request(method, format!("{}{path}", server.url))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, text.replace(id, "ID"))
}

/// The isolation matrix, generated from the route table (the OpenAPI document the server makes
/// from it): every native route that names a record inside a corp is asked, under corp A, for
/// corp B's record and for a missing one; every inbox route that names a message is asked, with
/// employee A's token, for another employee's message (of corp B, and of A's own corp) and for a
/// missing one. Each pair of answers must be byte-identical but for the id. A new route with a
/// path parameter the matrix does not know fails this test until it is classified.
#[tokio::test]
async fn the_route_table_isolation_matrix_finds_no_foreign_id_answered_unlike_a_missing_one() {
    use fxmsg_client::admin::AdminClient;
    let server = TestServer::start().await;
    let admin_token = crate::support::ADMIN_TOKEN;
    let a_corp = server.demo.corp.corp_id.clone();
    let a_employee = server.employee(0).open_user_id.clone();
    let a_colleague = server.employee(1).open_user_id.clone();
    let b = server.other_corp("matrix").await;
    let admin: &AdminClient = &server.admin;
    let b_credential = admin
        .issue_employee_token(&b.corp.corp_id, &b.employee.open_user_id)
        .await
        .unwrap()
        .credential
        .credential_id;
    // A message in B's inbox, and one in A's colleague's.
    let b_message = b
        .client(&server)
        .send(&SendMessage::text([b.employee.user_id.as_str()], "b only"))
        .await
        .unwrap()
        .message_id;
    let colleague_message = server
        .client(AuthStyle::Bearer)
        .send(&SendMessage::text(
            [server.employee(1).user_id.as_str()],
            "colleague only",
        ))
        .await
        .unwrap()
        .message_id;
    let own_message = server
        .client(AuthStyle::Bearer)
        .send(&SendMessage::text(
            [server.employee(0).user_id.as_str()],
            "mine",
        ))
        .await
        .unwrap()
        .message_id;
    let a_token = admin
        .issue_employee_token(&a_corp, &a_employee)
        .await
        .unwrap()
        .token;
    let a_credential = admin
        .issue_employee_token(&a_corp, &a_employee)
        .await
        .unwrap()
        .credential
        .credential_id;

    // What each path parameter names: (corp B's record, a missing one, corp A's own) — or
    // nothing, when it is not a corp's record.
    let kinds: &[(&str, Option<Ids>)] = &[
        (
            "app_id",
            Some((
                &b.app.app.app_id,
                "FSAPPID_0000000000000000",
                &server.demo.app.app.app_id,
            )),
        ),
        (
            "employee",
            Some((
                &b.employee.open_user_id,
                "FSUID_00000000000000000000000000000000",
                &a_colleague,
            )),
        ),
        (
            "credential_id",
            Some((
                &b_credential,
                "00000000-0000-0000-0000-000000000000",
                &a_credential,
            )),
        ),
        // Corp-relative numbers (a department is numbered within its corp): no foreign id.
        ("id", None),
    ];
    // Routes whose ids are not inside a corp, or that the admin token may use across corps.
    let not_tenant_scoped = [
        "/api/v1/messages/{message_id}", // the admin's view of every corp's messages
        "/api/v1/faults/{id}",           // test-kit faults, server-wide
        "/api/v1/sandboxes/{corp_id}",   // a whole corp, by its id
    ];
    let body_for = |method: &str, path: &str| -> Option<Value> {
        match (method, path.rsplit('/').nth(1)) {
            ("patch", Some("apps")) => Some(json!({"enabled": true})),
            ("patch", Some("employees")) => Some(json!({"name": "renamed"})),
            ("patch", _) => Some(json!({"name": "renamed"})),
            ("post", _) => Some(json!({})),
            _ => None,
        }
    };

    let document: Value = server
        .get("/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    let mut probed = 0;
    let mut leaks = Vec::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let params: Vec<&str> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            if params.is_empty() || not_tenant_scoped.contains(&path.as_str()) {
                continue;
            }
            if path.starts_with("/api/v1/inbox/") {
                assert_eq!(
                    params,
                    ["message_id"],
                    "{method} {path}: classify its parameters"
                );
                for foreign in [&b_message, &colleague_message] {
                    let ask = |id: &str| {
                        let url = path.replace("{message_id}", id);
                        let body = body_for(method, path);
                        let (token, id) = (a_token.clone(), id.to_owned());
                        let server = &server;
                        async move { answer(server, &token, method, &url, body, &id).await }
                    };
                    let (theirs, missing) = (
                        ask(foreign).await,
                        ask("01a00000-0000-7000-8000-000000000000").await,
                    );
                    // The same request for the employee's own message works: the refusals
                    // are about whose message it is.
                    let own = ask(&own_message).await;
                    assert!(own.0 < 400, "{method} {path}: own message: {own:?}");
                    assert!(theirs.0 >= 400, "{method} {path}: {theirs:?}");
                    probed += 1;
                    if theirs != missing {
                        leaks.push(format!("{method} {path}: {theirs:?} vs {missing:?}"));
                    }
                }
                continue;
            }
            assert_eq!(
                params[0], "corp_id",
                "{method} {path}: classify its parameters"
            );
            if params.len() == 1 {
                // The admin token names the corp itself; nothing inside another corp is named.
                continue;
            }
            // The last parameter names the record; any before it are A's own.
            let last = *params.last().unwrap();
            let kind = kinds
                .iter()
                .find(|(name, _)| *name == last)
                .unwrap_or_else(|| panic!("{method} {path}: add {last:?} to the matrix"));
            let Some((foreign, missing, own)) = kind.1 else {
                continue;
            };
            let url = |id: &str| {
                let mut url = path
                    .replace("{corp_id}", &a_corp)
                    .replace(&format!("{{{last}}}"), id);
                if params.len() == 3 {
                    url = url.replace(&format!("{{{}}}", params[1]), &a_employee);
                }
                url
            };
            let body = body_for(method, path);
            let theirs = answer(
                &server,
                admin_token,
                method,
                &url(foreign),
                body.clone(),
                foreign,
            )
            .await;
            let nothing = answer(&server, admin_token, method, &url(missing), body, missing).await;
            // A's own record through the same URL works: the refusals are about whose it is.
            let mine = answer(
                &server,
                admin_token,
                method,
                &url(own),
                body_for(method, path),
                own,
            )
            .await;
            assert!(
                mine.0 < 400,
                "{method} {path}: corp A's own {last}: {mine:?}"
            );
            probed += 1;
            assert!(
                theirs.0 >= 400,
                "{method} {path}: corp B's {last} answered {theirs:?}"
            );
            if theirs != nothing {
                leaks.push(format!("{method} {path}: {theirs:?} vs {nothing:?}"));
            }
        }
    }
    assert!(probed >= 10, "the matrix probed only {probed} cells");
    assert!(
        leaks.is_empty(),
        "foreign ids answered unlike missing ones: {leaks:#?}"
    );
    println!("isolation matrix: {probed} cells, 0 leaks");
}
