//! The address book: the platform's reads in both auth styles, the tree, the codes for unknown
//! ids, isolation between corps, directory import and export, and sending to what a listing
//! returned.

use fxmsg_client::native::{
    DepartmentPatch, DirectoryFile, EmployeePatch, EmployeeStatus, NewDepartment, NewEmployee,
    NewSandbox, Sandbox, SandboxEmployees,
};
use fxmsg_client::{AuthStyle, Client, Credentials, Error, SendMessage};
use serde_json::{json, Value};

use crate::support::TestServer;

fn client_for(server: &TestServer, sandbox: &Sandbox, style: AuthStyle) -> Client {
    server.client_with(Credentials::from(sandbox), style)
}

fn department(id: i64, name: &str, parent: i64) -> NewDepartment {
    NewDepartment {
        id: Some(id),
        name: name.into(),
        parent_id: parent,
        ..NewDepartment::default()
    }
}

fn employee(number: &str, name: &str, departments: &[i64]) -> NewEmployee {
    NewEmployee {
        name: name.into(),
        user_id: Some(number.into()),
        department_ids: departments.to_vec(),
        ..NewEmployee::default()
    }
}

/// A sandbox with a three-level tree: 10 Sales → 11 East → 12 Shanghai, and 20 R&D beside it.
async fn tree_sandbox(server: &TestServer) -> Sandbox {
    let new = NewSandbox {
        departments: vec![
            department(12, "Shanghai", 11),
            department(10, "Sales", 0),
            department(11, "East", 10),
            department(20, "R&D", 0),
        ],
        employees: Some(SandboxEmployees::List(vec![
            employee("1", "Head of sales", &[10]),
            employee("2", "East lead", &[11]),
            employee("3", "Shanghai rep", &[12]),
            employee("4", "Engineer in sales", &[20, 12]),
            employee("5", "At the top", &[]),
        ])),
        ..NewSandbox::default()
    };
    server.admin.create_sandbox(&new).await.unwrap()
}

fn numbers<'a>(names: impl IntoIterator<Item = &'a str>, sandbox: &Sandbox) -> Vec<String> {
    names
        .into_iter()
        .map(|id| {
            sandbox
                .employees
                .iter()
                .find(|e| e.open_user_id == id)
                .map(|e| e.user_id.clone())
                .unwrap_or_else(|| id.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn every_read_answers_in_both_auth_styles_with_the_platforms_fields() {
    let server = TestServer::start().await;
    let ada = server.employee(0).clone();
    let bo = server.employee(1).clone();
    for style in [AuthStyle::Bearer, AuthStyle::Legacy] {
        let client = server.client(style);
        let departments = client.departments().await.unwrap();
        let ids: Vec<i64> = departments.iter().map(|d| d.id).collect();
        assert_eq!(ids, [0, 1, 2, 3, 4, 5], "{style:?}");
        assert_eq!(departments[0].name, "Demo Corp");
        assert_eq!(departments[2].parent_id, 1);
        let sales = client.department(1).await.unwrap();
        assert_eq!(sales.name, "Sales");
        assert_eq!(
            sales.principal_id.as_deref(),
            Some(ada.open_user_id.as_str())
        );

        let user = client.user(&bo.open_user_id).await.unwrap();
        assert_eq!(user.name, "Bo Wang");
        assert_eq!(user.employee_number, "1001");
        assert_eq!(user.main_department_id, Some(2));
        assert_eq!(user.leader_id.as_deref(), Some(ada.open_user_id.as_str()));
        let by_mobile = client.users_by_mobile("13800001001").await.unwrap();
        assert_eq!(
            by_mobile,
            [fxmsg_client::addressbook::UserInfo {
                main_department_id: None,
                attaching_department_ids: None,
                ..user.clone()
            }]
        );
        assert!(client
            .users_by_mobile("19900000000")
            .await
            .unwrap()
            .is_empty());

        let brief = client.department_users_brief(1, false).await.unwrap();
        assert_eq!(
            brief.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
            ["Ada Li"]
        );
        let below = client.department_users(1, true).await.unwrap();
        let names: Vec<_> = below.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(
            names,
            ["Ada Li", "Bo Wang", "Dan Liu"],
            "Dan is attached to 2"
        );
        let dan = &below[2];
        assert_eq!(dan.main_department_id, Some(4));
        assert_eq!(dan.attaching_department_ids.as_deref(), Some(&[2][..]));
    }
    // On the wire: the names public clients read.
    let raw = server
        .post_legacy(
            "/cgi/user/list",
            json!({"departmentId": 1, "fetchChild": true}),
        )
        .await;
    assert_eq!(raw["errorCode"], 0, "{raw}");
    let first = &raw["userList"][0];
    for field in [
        "openUserId",
        "name",
        "isStop",
        "mobile",
        "email",
        "gender",
        "position",
        "departmentIds",
        "employeeNumber",
        "createTime",
        "mainDepartmentId",
        "attachingDepartmentIds",
    ] {
        assert!(first.get(field).is_some(), "userList[0].{field}: {raw}");
    }
    let raw = server
        .post_legacy("/cgi/user/simpleList", json!({"departmentId": "2"}))
        .await;
    assert_eq!(raw["userlist"][0]["name"], "Bo Wang", "{raw}");
    let raw = server.post_legacy("/cgi/department/list", json!({})).await;
    assert_eq!(
        raw["departments"][1],
        json!({"id": 1, "name": "Sales", "parentId": 0, "isStop": false, "order": 1})
    );
    let raw = server
        .post_legacy("/cgi/user/getByMobile", json!({"mobile": "13800001000"}))
        .await;
    assert_eq!(
        raw["empList"][0]["openUserId"],
        ada.open_user_id.as_str(),
        "{raw}"
    );
    let raw = server
        .post_legacy("/cgi/user/get", json!({"openUserId": ada.open_user_id}))
        .await;
    assert_eq!(
        raw["account"],
        Value::Null,
        "unknown fields are left out: {raw}"
    );
    assert!(
        raw.get("mainDepartmentId").is_none(),
        "only with showDepartmentIdsDetail: {raw}"
    );
    server.stop().await;
}

#[tokio::test]
async fn fetch_child_follows_a_three_level_tree_and_moves() {
    let server = TestServer::start().await;
    let sandbox = tree_sandbox(&server).await;
    let client = client_for(&server, &sandbox, AuthStyle::Bearer);
    let corp = &sandbox.corp.corp_id;
    let listed = |department, child| {
        let client = client.clone();
        let sandbox = sandbox.clone();
        async move {
            let users = client
                .department_users_brief(department, child)
                .await
                .unwrap();
            numbers(users.iter().map(|u| u.open_user_id.as_str()), &sandbox)
        }
    };
    assert_eq!(listed(10, false).await, ["1"]);
    assert_eq!(listed(10, true).await, ["1", "2", "3", "4"]);
    assert_eq!(listed(11, true).await, ["2", "3", "4"]);
    assert_eq!(listed(12, true).await, ["3", "4"]);
    assert_eq!(listed(20, true).await, ["4"]);
    assert_eq!(listed(0, false).await, ["5"]);
    assert_eq!(listed(0, true).await, ["1", "2", "3", "4", "5"]);

    // East moves under R&D: Sales keeps only its own, R&D gets East's.
    let patch = DepartmentPatch {
        parent_id: Some(20),
        ..DepartmentPatch::default()
    };
    let moved = server
        .admin
        .update_department(corp, 11, &patch)
        .await
        .unwrap();
    assert_eq!(moved.parent_id, 20);
    assert_eq!(listed(10, true).await, ["1"]);
    assert_eq!(listed(20, true).await, ["2", "3", "4"]);
    // A move under itself or below it is refused and changes nothing.
    for parent in [11, 12] {
        let cycle = DepartmentPatch {
            parent_id: Some(parent),
            ..DepartmentPatch::default()
        };
        let e = server
            .admin
            .update_department(corp, 11, &cycle)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("is 11 itself or below it"), "{e}");
    }
    let e = server
        .admin
        .update_department(
            corp,
            11,
            &DepartmentPatch {
                parent_id: Some(99),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("parentId: no department 99"), "{e}");
    assert_eq!(listed(20, true).await, ["2", "3", "4"]);
    // Stopping a department keeps it listed, with isStop.
    let stop = DepartmentPatch {
        stopped: Some(true),
        ..DepartmentPatch::default()
    };
    server
        .admin
        .update_department(corp, 12, &stop)
        .await
        .unwrap();
    let departments = client.departments().await.unwrap();
    assert!(departments.iter().any(|d| d.id == 12 && d.is_stop));
    server.stop().await;
}

#[tokio::test]
async fn unknown_ids_answer_the_platforms_codes() {
    let server = TestServer::start().await;
    let cases = [
        (
            "/cgi/department/detail",
            json!({"departmentId": 999}),
            30007,
        ),
        ("/cgi/user/simpleList", json!({"departmentId": 999}), 30007),
        (
            "/cgi/user/list",
            json!({"departmentId": 999, "fetchChild": true}),
            30007,
        ),
        ("/cgi/department/detail", json!({}), 11009),
        ("/cgi/department/detail", json!({"departmentId": -1}), 11009),
        ("/cgi/user/list", json!({"departmentId": "sales"}), 11009),
        (
            "/cgi/user/list",
            json!({"departmentId": 2147483648_i64}),
            11009,
        ),
        (
            "/cgi/user/list",
            json!({"departmentId": 1, "fetchChild": "yes"}),
            15002,
        ),
        ("/cgi/user/get", json!({}), 10010),
        ("/cgi/user/get", json!({"openUserId": "1000"}), 11008),
        (
            "/cgi/user/get",
            json!({"openUserId": "FSUID_00000000000000000000000000000000"}),
            20012,
        ),
        ("/cgi/user/getByMobile", json!({}), 15002),
    ];
    for (path, body, code) in cases {
        let r = server.post_legacy(path, body.clone()).await;
        assert_eq!(r["errorCode"], code, "{path} {body}: {r}");
        assert!(!r["errorDescription"].as_str().unwrap().is_empty());
    }
    // An unknown mobile is no error: nobody has it.
    let r = server
        .post_legacy("/cgi/user/getByMobile", json!({"mobile": "19900000000"}))
        .await;
    assert_eq!(
        (r["errorCode"].clone(), r["empList"].clone()),
        (json!(0), json!([])),
        "{r}"
    );
    // Without credentials, the usual refusal.
    let r = server.post("/cgi/department/list", &json!({})).await;
    assert_eq!(r["errorCode"], 20017, "{r}");
    server.stop().await;
}

#[tokio::test]
async fn another_corps_ids_behave_exactly_like_missing_ones() {
    let server = TestServer::start().await;
    let other = tree_sandbox(&server).await;
    let theirs = &other.employees[0];
    // Answers of the demo app about the other corp's ids, and about ids nobody has.
    let ask = |path: &'static str, body: Value| {
        let server = &server;
        async move {
            let mut r = server.post_legacy(path, body).await;
            r["traceId"] = json!("");
            r
        }
    };
    let normalize = |mut r: Value, id: &str| {
        r["errorDescription"] = json!(r["errorDescription"].as_str().unwrap().replace(id, "ID"));
        r
    };
    let foreign = ask("/cgi/department/detail", json!({"departmentId": 12})).await;
    let missing = ask("/cgi/department/detail", json!({"departmentId": 13})).await;
    assert_eq!(foreign["errorCode"], 30007);
    assert_eq!(normalize(foreign, "12"), normalize(missing, "13"));
    let foreign = ask("/cgi/user/simpleList", json!({"departmentId": 12})).await;
    let missing = ask("/cgi/user/simpleList", json!({"departmentId": 13})).await;
    assert_eq!(normalize(foreign, "12"), normalize(missing, "13"));
    let nobody = "FSUID_0123456789ABCDEF0123456789ABCDEF";
    let foreign = ask("/cgi/user/get", json!({"openUserId": theirs.open_user_id})).await;
    let missing = ask("/cgi/user/get", json!({"openUserId": nobody})).await;
    assert_eq!(foreign["errorCode"], 20012);
    assert_eq!(
        normalize(foreign, &theirs.open_user_id),
        normalize(missing, nobody)
    );
    let mobile = theirs.mobile.clone().unwrap();
    let foreign = ask("/cgi/user/getByMobile", json!({"mobile": mobile})).await;
    assert_eq!(foreign["empList"], json!([]), "{foreign}");
    // And the other corp sees none of the demo's.
    let client = client_for(&server, &other, AuthStyle::Legacy);
    let ids: Vec<i64> = client
        .departments()
        .await
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(ids, [0, 10, 11, 12, 20]);
    let e = client.department(1).await.unwrap_err();
    assert!(
        matches!(e, Error::Api { code, .. } if code.as_i64() == 30007),
        "{e}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_message_to_a_department_listing_reaches_exactly_those_employees() {
    let server = TestServer::start().await;
    let sandbox = tree_sandbox(&server).await;
    let corp = &sandbox.corp.corp_id;
    // A stopped employee is listed with isStop and is not a recipient.
    let stopped = EmployeePatch {
        status: Some(EmployeeStatus::Stopped),
        ..EmployeePatch::default()
    };
    server
        .admin
        .update_employee(corp, "3", &stopped)
        .await
        .unwrap();
    let client = client_for(&server, &sandbox, AuthStyle::Bearer);
    let listed = client.department_users(11, true).await.unwrap();
    let ids: Vec<String> = listed.iter().map(|u| u.open_user_id.clone()).collect();
    assert_eq!(
        numbers(ids.iter().map(String::as_str), &sandbox),
        ["2", "3", "4"]
    );
    assert_eq!(
        listed.iter().map(|u| u.is_stop).collect::<Vec<_>>(),
        [false, true, false]
    );

    let sent = client
        .send(&SendMessage::text(
            ids.clone(),
            "East region: quarterly review at 3pm",
        ))
        .await
        .unwrap();
    assert_eq!(sent.invalid_users, [ids[1].clone()]);
    let detail = server.admin.get_message(&sent.message_id).await.unwrap();
    let mut delivered: Vec<_> = detail.message.recipients.clone();
    delivered.sort();
    let mut expected = vec![ids[0].clone(), ids[2].clone()];
    expected.sort();
    assert_eq!(delivered, expected);
    server.stop().await;
}

#[tokio::test]
async fn an_import_round_trips_and_a_bad_file_imports_nothing() {
    let server = TestServer::start().await;
    let demo = &server.demo.corp.corp_id;
    let exported = server.admin.export_directory(demo).await.unwrap();
    assert_eq!(exported.departments.len(), 5);
    assert_eq!(exported.employees.len(), 5);
    assert_eq!(
        exported.employees[1].leader_id.as_deref(),
        Some("1000"),
        "leaders by number"
    );

    // JSON into an empty corp: the same listing.
    let empty = server.admin.create_corp("Copy", "copy").await.unwrap();
    let summary = server
        .admin
        .import_directory(&empty.corp_id, &exported)
        .await
        .unwrap();
    assert_eq!(
        (summary.departments.created, summary.employees.created),
        (5, 5)
    );
    assert_eq!(
        server.admin.export_directory(&empty.corp_id).await.unwrap(),
        exported
    );
    // Twice changes nothing.
    let again = server
        .admin
        .import_directory(&empty.corp_id, &exported)
        .await
        .unwrap();
    assert_eq!(
        (again.departments.unchanged, again.employees.unchanged),
        (5, 5)
    );
    assert_eq!(again.departments.created + again.departments.updated, 0);
    assert_eq!(again.employees.created + again.employees.updated, 0);
    let listed = |corp: String| {
        let admin = server.admin.clone();
        async move {
            let mut employees = admin.list_employees(&corp).await.unwrap();
            for e in &mut employees {
                (e.open_user_id, e.corp_id, e.created_at) = (String::new(), String::new(), 0);
                e.leader_id = e.leader_id.as_ref().map(|_| "someone".into());
            }
            employees
        }
    };
    assert_eq!(
        listed(empty.corp_id.clone()).await,
        listed(demo.clone()).await
    );

    // CSV the same way.
    let csv = server.admin.export_directory_csv(demo).await.unwrap();
    assert!(csv.starts_with("type,id,name,parentId"), "{csv}");
    let from_csv = server.admin.create_corp("Csv", "csv").await.unwrap();
    server
        .admin
        .import_directory_text(&from_csv.corp_id, csv.clone(), true)
        .await
        .unwrap();
    assert_eq!(
        server
            .admin
            .export_directory(&from_csv.corp_id)
            .await
            .unwrap(),
        exported
    );

    // A bad record anywhere refuses the whole file, naming its line.
    let target = server.admin.create_corp("Target", "target").await.unwrap();
    let bad_csv = csv.replacen("13800001003", "call me", 1);
    let bad_line = 1 + bad_csv.lines().position(|l| l.contains("call me")).unwrap();
    let e = server
        .admin
        .import_directory_text(&target.corp_id, bad_csv, true)
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("line {bad_line} (employees[3]): mobile: must be")),
        "{e}"
    );
    let mut bad = exported.clone();
    bad.employees[4].department_ids = vec![77];
    bad.departments[1].parent_id = 66;
    let text = serde_json::to_string_pretty(&bad).unwrap();
    let e = server
        .admin
        .import_directory_text(&target.corp_id, text.clone(), false)
        .await
        .unwrap_err();
    let message = e.to_string();
    assert!(
        message.contains("2 records refused, nothing was imported"),
        "{message}"
    );
    assert!(
        message.contains("(departments[1]): parentId: no department 66"),
        "{message}"
    );
    assert!(
        message.contains("(employees[4]): departmentIds: no department 77"),
        "{message}"
    );
    let line = 1 + text
        .lines()
        .position(|l| l.contains("\"parentId\": 66"))
        .unwrap();
    assert!(
        message.contains(&format!("line {}", line - 3)),
        "{message}\n{text}"
    );
    let empty_file = DirectoryFile::default();
    assert_eq!(
        server
            .admin
            .export_directory(&target.corp_id)
            .await
            .unwrap(),
        empty_file
    );
    // An import must name every record: without ids a second run would add them again.
    let mut unkeyed = exported.clone();
    unkeyed.employees[0].user_id = None;
    unkeyed.departments[0].id = None;
    let e = server
        .admin
        .import_directory(&target.corp_id, &unkeyed)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("userId: is required in an import"),
        "{e}"
    );
    assert!(
        e.to_string().contains("id: is required in an import"),
        "{e}"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_import_at_its_size_limit_is_taken_and_past_it_refused() {
    let server = TestServer::start().await;
    let corp = server.admin.create_corp("Big", "big").await.unwrap();
    let limit = 16 * 1024 * 1024;
    let file = serde_json::to_string(&DirectoryFile {
        departments: vec![department(1, "Sales", 0)],
        employees: vec![employee("1", "Ann", &[1])],
    })
    .unwrap();
    let padded = |size: usize| format!("{file}{}", " ".repeat(size - file.len()));
    let at = server
        .admin
        .import_directory_text(&corp.corp_id, padded(limit), false)
        .await
        .unwrap();
    assert_eq!(at.employees.created, 1);
    let past = server
        .admin
        .import_directory_text(&corp.corp_id, padded(limit + 1), false)
        .await
        .unwrap_err();
    assert!(matches!(past, Error::Native { status: 413, .. }), "{past}");
    server.stop().await;
}

#[tokio::test]
async fn the_admin_api_checks_every_field_at_and_past_its_limit() {
    let server = TestServer::start().await;
    let corp = server.admin.create_corp("Limits", "limits").await.unwrap();
    let corp = &corp.corp_id;
    let admin = &server.admin;
    let max_id = i32::MAX as i64;
    admin
        .create_department(corp, &department(max_id, &"d".repeat(100), 0))
        .await
        .unwrap();
    for (new, needle) in [
        (
            department(max_id + 1, "Too big", 0),
            "id: must be 1..=2147483647",
        ),
        (department(5, &"d".repeat(101), 0), "name: must be 1..100"),
        (department(max_id, "Again", 0), "already exists"),
        (
            NewDepartment {
                order: Some(max_id + 1),
                ..department(6, "Late", 0)
            },
            "order: must be 1..=2147483647",
        ),
        (
            NewDepartment {
                order: Some(0),
                ..department(6, "Early", 0)
            },
            "order: must be 1..=2147483647",
        ),
    ] {
        let e = admin.create_department(corp, &new).await.unwrap_err();
        assert!(e.to_string().contains(needle), "{needle}: {e}");
    }
    let e = admin
        .update_department(corp, 0, &DepartmentPatch::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Native { status: 400, .. }), "{e}");
    let at_limit = NewDepartment {
        order: Some(max_id),
        ..department(30, "Last", 0)
    };
    assert_eq!(
        admin
            .create_department(corp, &at_limit)
            .await
            .unwrap()
            .order,
        max_id
    );
    let missing = admin
        .update_employee(corp, "404", &EmployeePatch::default())
        .await
        .unwrap_err();
    assert!(
        matches!(missing, Error::Native { status: 404, .. }),
        "{missing}"
    );
    let e = admin
        .update_department(corp, 9, &DepartmentPatch::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Native { status: 404, .. }), "{e}");
    // Twenty departments is the most an employee is in.
    let ids: Vec<i64> = (1..=21).collect();
    for id in &ids {
        admin
            .create_department(corp, &department(*id, "d", 0))
            .await
            .unwrap();
    }
    let full = NewEmployee {
        account: Some("a".repeat(64)),
        nick_name: Some("n".repeat(100)),
        position: Some("p".repeat(100)),
        email: Some(format!("{}@example.com", "e".repeat(242))),
        gender: Some("F".into()),
        department_ids: ids[..20].to_vec(),
        ..employee("1", "Full", &[])
    };
    let created = admin.add_employee(corp, &full).await.unwrap();
    assert_eq!(created.department_ids.len(), 20);
    assert_eq!(created.email.as_deref().map(str::len), Some(254));
    for (change, needle) in [
        (
            NewEmployee {
                account: Some("a".repeat(65)),
                ..full.clone()
            },
            "account: must be 1..64",
        ),
        (
            NewEmployee {
                nick_name: Some("n".repeat(101)),
                ..full.clone()
            },
            "nickName: must be 1..100",
        ),
        (
            NewEmployee {
                position: Some("p".repeat(101)),
                ..full.clone()
            },
            "position: must be 1..100",
        ),
        (
            NewEmployee {
                email: Some(format!("{}@example.com", "e".repeat(243))),
                ..full.clone()
            },
            "email: must be 1..254",
        ),
        (
            NewEmployee {
                email: Some("nobody".into()),
                ..full.clone()
            },
            "is not an e-mail address",
        ),
        (
            NewEmployee {
                gender: Some("X".into()),
                ..full.clone()
            },
            "gender: must be",
        ),
        (
            NewEmployee {
                department_ids: ids.clone(),
                ..full.clone()
            },
            "departmentIds: at most 20, got 21",
        ),
        (
            NewEmployee {
                leader_id: Some("404".into()),
                ..full.clone()
            },
            "leaderId: no employee 404",
        ),
    ] {
        let change = NewEmployee {
            user_id: Some("2".into()),
            ..change
        };
        let e = admin.add_employee(corp, &change).await.unwrap_err();
        assert!(e.to_string().contains(needle), "{needle}: {e}");
    }
    assert_eq!(
        admin.list_employees(corp).await.unwrap().len(),
        1,
        "nothing half-made"
    );
    // A patch changes what it names; null clears.
    let patch: EmployeePatch = serde_json::from_value(
        json!({"position": "Lead", "nickName": null, "departmentIds": [3, 4]}),
    )
    .unwrap();
    let patched = admin.update_employee(corp, "1", &patch).await.unwrap();
    assert_eq!(patched.position.as_deref(), Some("Lead"));
    assert_eq!(patched.nick_name, None);
    assert_eq!(
        (patched.main_department_id, patched.department_ids),
        (3, vec![3, 4])
    );
    assert_eq!(patched.account, created.account, "unnamed fields stay");
    let selfish = EmployeePatch {
        leader_id: Some(Some("1".into())),
        ..EmployeePatch::default()
    };
    let e = admin
        .update_employee(corp, "1", &selfish)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("cannot lead themselves"), "{e}");
    server.stop().await;
}
