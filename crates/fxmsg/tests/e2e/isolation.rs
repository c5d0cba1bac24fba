//! With two corps, no endpoint lets one corp touch the other's data, and a foreign id gets exactly
//! the answer a missing id gets.

use bytes::Bytes;
use fxmsg_client::{AuthStyle, MediaKind, SendMessage};
use serde_json::{json, Value};

use crate::support::{TestServer, PNG};

/// Ids one path parameter can name: (corp B's record, a missing one, corp A's own).
type Ids<'a> = (&'a str, &'a str, &'a str);

/// A kind of record a compat request field names.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Record {
    Media,
    Message,
    ServiceAccount,
    Employee,
    Mobile,
}

/// What each field of a compat request body is, by its name (`[]` marks an array's items): a
/// record of the caller's corp, or not one (`None`).
const COMPAT_FIELDS: &[(&str, Option<Record>)] = &[
    ("mediaId", Some(Record::Media)),
    ("coverImage", Some(Record::Media)),
    ("messageId", Some(Record::Message)),
    ("serviceId", Some(Record::ServiceAccount)),
    ("openUserId", Some(Record::Employee)),
    ("toUser[]", Some(Record::Employee)),
    ("mobile", Some(Record::Mobile)),
    // The caller's credentials: a corp's token against another corp is its own test below.
    ("corpAccessToken", None),
    ("corpId", None),
    ("appId", None),
    ("appSecret", None),
    ("permanentCode", None),
    ("refreshToken", None),
    ("grantType", None),
    // Numbered within its corp: every corp has a department 1; there is no foreign one.
    ("departmentId", None),
    // Values, not references.
    ("msgType", None),
    ("text", None),
    ("composite", None),
    ("articles", None),
    ("title", None),
    ("author", None),
    ("description", None),
    ("coverImageInContent", None),
    ("type", None),
    ("content", None),
    ("showDepartmentIdsDetail", None),
    ("fetchChild", None),
    ("media", None),
];

/// A value for a required field that names no record.
fn plain_value(name: &str) -> Value {
    match name {
        "msgType" => json!("articles"),
        "type" => json!("TEXT"),
        "title" | "content" => json!("matrix"),
        other => panic!("give the required field {other:?} a value in the matrix"),
    }
}

fn schema<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap();
            &document["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// Every field of a request schema: its JSON pointer (an array's first item stands for all)
/// and its name as [`COMPAT_FIELDS`] knows it.
fn fields(document: &Value, node: &Value, pointer: &str, out: &mut Vec<(String, String)>) {
    let node = schema(document, node);
    for (name, property) in node["properties"].as_object().into_iter().flatten() {
        let property = schema(document, property);
        let pointer = format!("{pointer}/{name}");
        let items = &property["items"];
        if items.is_object() {
            let items_pointer = format!("{pointer}/0");
            if schema(document, items)["properties"].is_object() {
                out.push((pointer.clone(), name.clone()));
                fields(document, items, &items_pointer, out);
            } else {
                out.push((items_pointer, format!("{name}[]")));
            }
        } else {
            out.push((pointer.clone(), name.clone()));
            fields(document, property, &pointer, out);
        }
    }
}

/// The smallest valid body of a request schema: its required fields, and every field that names a
/// record, which gets the caller's own (`own`).
fn valid_body(document: &Value, node: &Value, own: &dyn Fn(Record) -> String) -> Value {
    let node = schema(document, node);
    let required: Vec<&str> = node["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut body = serde_json::Map::new();
    for (name, property) in node["properties"].as_object().into_iter().flatten() {
        let property = schema(document, property);
        let items = &property["items"];
        let record = |name: &str| {
            COMPAT_FIELDS
                .iter()
                .find(|(field, _)| *field == name)
                .unwrap_or_else(|| panic!("classify the request field {name:?} in COMPAT_FIELDS"))
                .1
        };
        let value = if items.is_object() {
            let item = if schema(document, items)["properties"].is_object() {
                valid_body(document, items, own)
            } else {
                match record(&format!("{name}[]")) {
                    Some(kind) => json!(own(kind)),
                    None => continue,
                }
            };
            let inner = serde_json::to_string(&item).unwrap();
            if !required.contains(&name.as_str()) && !inner.contains("\"own:") {
                continue;
            }
            json!([item])
        } else if let Some(kind) = record(name) {
            json!(own(kind))
        } else if required.contains(&name.as_str()) {
            plain_value(name)
        } else {
            continue;
        };
        body.insert(name.clone(), value);
    }
    Value::Object(body)
}

/// A matrix's verdict: enough cells probed, and none answered a foreign id unlike a missing one.
fn assert_no_leaks(matrix: &str, probed: usize, leaks: &[String]) {
    assert!(probed >= 10, "the {matrix} probed only {probed} cells");
    assert!(
        leaks.is_empty(),
        "{matrix}: foreign ids answered unlike missing ones: {leaks:#?}"
    );
}

/// A compat answer as compared: status and body, without the trace id and the id a send
/// returns, the probed id replaced.
async fn compat_answer(server: &TestServer, path: &str, body: &Value, id: &str) -> (u16, String) {
    let response = server
        .http()
        .post(format!("{}{path}", server.url))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    let text = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(mut answer)) => {
            answer.remove("traceId");
            answer.remove("messageId");
            Value::Object(answer).to_string()
        }
        _ => format!("{} bytes of media", bytes.len()),
    };
    (status, text.replace(id, "ID"))
}

fn succeeded(answer: &(u16, String)) -> bool {
    answer.0 == 200 && !answer.1.contains("\"errorCode\"") || answer.1.contains("\"errorCode\":0")
}

/// The compat routes' matrix, generated from their request schemas in the OpenAPI document:
/// every JSON field that names a corp's record (media, message, service account, employee,
/// mobile — wherever it sits in the body, `articles[].coverImage` too) is sent by corp A with
/// corp B's record, with a missing one, and with A's own (made fresh for the cell, so deleting or
/// revoking it harms no other cell). A's own must work; B's must be answered byte for byte like
/// the missing one. A new field the matrix does not know fails this test until it is classified.
#[tokio::test]
async fn a_foreign_id_behaves_exactly_like_a_missing_one() {
    let server = TestServer::start().await;
    let a = server.client(AuthStyle::Legacy);
    let b = server.other_corp("beta").await;
    let b_client = b.client(&server);
    let b_media = b_client
        .upload_bytes(MediaKind::MessageImage, "b.png", Bytes::from_static(PNG))
        .await
        .unwrap();
    let b_service = server
        .admin
        .create_service_account(&b.corp.corp_id, "B notices")
        .await
        .unwrap()
        .service_id;
    let b_message = b_client
        .send(&SendMessage::text([b.employee.user_id.as_str()], "b only").as_service(&b_service))
        .await
        .unwrap()
        .message_id;
    let b_mobile = "13900000042";
    server
        .admin
        .add_employee(
            &b.corp.corp_id,
            &fxmsg_api::native::NewEmployee {
                name: "Mo".into(),
                mobile: Some(b_mobile.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let a_mobile = server.employee(0).mobile.clone().unwrap();
    let (a_token, a_corp) = server.legacy_token_for(&server.demo.app).await;

    let foreign = |kind| match kind {
        Record::Media => b_media.clone(),
        Record::Message => b_message.clone(),
        Record::ServiceAccount => b_service.clone(),
        Record::Employee => b.employee.open_user_id.clone(),
        Record::Mobile => b_mobile.to_owned(),
    };
    let missing = |kind| {
        match kind {
            Record::Media => "11111111-2222-3333-4444-555555555555",
            Record::Message => "01a00000-0000-7000-8000-000000000000",
            Record::ServiceAccount => "FSAID_00000000000000000000000000000000",
            Record::Employee => "FSUID_00000000000000000000000000000000",
            Record::Mobile => "13900000099",
        }
        .to_owned()
    };

    let document: Value = server
        .get("/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    let (mut probed, mut unread, mut leaks) = (0, Vec::new(), Vec::new());
    for (path, operations) in document["paths"].as_object().unwrap() {
        if path.starts_with("/api/") {
            continue;
        }
        for (method, operation) in operations.as_object().unwrap() {
            let Some(request) = operation["requestBody"]["content"]["application/json"]
                .get("schema")
                .filter(|_| method == "post")
            else {
                continue;
            };
            let mut all = Vec::new();
            fields(&document, request, "", &mut all);
            for (pointer, name) in &all {
                let kind = COMPAT_FIELDS
                    .iter()
                    .find(|(field, _)| field == name)
                    .unwrap_or_else(|| panic!("{path}: classify {name:?} in COMPAT_FIELDS"))
                    .1;
                let Some(kind) = kind else { continue };
                // A's own records, fresh for this cell; the body is valid with them.
                let own_media = a
                    .upload_bytes(MediaKind::MessageImage, "a.png", Bytes::from_static(PNG))
                    .await
                    .unwrap();
                let own_message = a
                    .send(
                        &SendMessage::text([server.employee(0).user_id.as_str()], "mine")
                            .as_service(server.service_id()),
                    )
                    .await
                    .unwrap()
                    .message_id;
                let own = |kind| match kind {
                    Record::Media => own_media.clone(),
                    Record::Message => own_message.clone(),
                    Record::ServiceAccount => server.service_id().to_owned(),
                    Record::Employee => server.employee(0).open_user_id.clone(),
                    Record::Mobile => a_mobile.clone(),
                };
                let body = valid_body(&document, request, &|kind| format!("own:{kind:?}"));
                let body =
                    serde_json::from_str::<Value>(&fill_own(&body.to_string(), &own)).unwrap();
                let ask = |id: String| {
                    let mut body = body.clone();
                    body["corpAccessToken"] = json!(a_token);
                    body["corpId"] = json!(a_corp);
                    *body.pointer_mut(pointer).unwrap() = json!(id);
                    let server = &server;
                    async move { compat_answer(server, path, &body, &id).await }
                };
                let theirs = ask(foreign(kind)).await;
                let nothing = ask(missing(kind)).await;
                let mine = ask(own(kind)).await;
                let cell = format!("{path} {name}");
                assert!(succeeded(&mine), "{cell}: corp A's own {kind:?}: {mine:?}");
                probed += 1;
                if succeeded(&nothing) {
                    // A missing one is no error here: the route does not read the field
                    // (`serviceId` on a plain send) or answers an empty list (a mobile nobody
                    // has). B's must then be answered the same, which the comparison checks.
                    unread.push(cell.clone());
                } else {
                    assert!(!succeeded(&theirs), "{cell}: corp B's {kind:?}: {theirs:?}");
                }
                if theirs != nothing {
                    leaks.push(format!("{cell}: {theirs:?} vs {nothing:?}"));
                }
            }
        }
    }
    assert_no_leaks("compat isolation matrix", probed, &leaks);
    println!(
        "compat isolation matrix: {probed} cells, 0 leaks; a missing id is no error: {unread:?}"
    );

    // B's records are untouched by A's attempts to delete, revoke and send them.
    let mut out = Vec::new();
    b_client.download(&b_media, &mut out).await.unwrap();
    assert_eq!(out, PNG);
    let detail = server.admin.get_message(&b_message).await.unwrap();
    assert!(detail.message.revoked_at.is_none());
}

/// `text` with each `own:<Record>` marker replaced by the caller's own record of that kind.
fn fill_own(text: &str, own: &dyn Fn(Record) -> String) -> String {
    [
        Record::Media,
        Record::Message,
        Record::ServiceAccount,
        Record::Employee,
        Record::Mobile,
    ]
    .into_iter()
    .fold(text.to_owned(), |text, kind| {
        text.replace(&format!("own:{kind:?}"), &own(kind))
    })
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
    assert_no_leaks("isolation matrix", probed, &leaks);
    println!("isolation matrix: {probed} cells, 0 leaks");
}
