//! `fxmsg admin …`: the native API through `fxmsg-client`, printed as text or JSON.

use std::process::ExitCode;

use fxmsg_api::native::{
    ClockChange, DepartmentPatch, EmployeePatch, EmployeeStatus, NewDepartment, NewEmployee,
    NewFault, NewSandbox, SandboxEmployees,
};
use fxmsg_client::admin::AdminClient;
use fxmsg_client::Error;
use serde_json::Value;

use crate::cli::{
    AdminArgs, AdminCommand, AdminConnection, AppCommand, ClockCommand, CorpCommand,
    DepartmentCommand, EmployeeCommand, FaultCommand, SandboxCommand, ServiceCommand,
};
use crate::exit;

pub async fn run(args: AdminArgs) -> ExitCode {
    let json = args.output.json;
    let client = match args.server.client() {
        Ok(client) => client,
        Err(code) => return code,
    };
    match execute(&client, args.command).await {
        Ok(value) => {
            print(&value, json);
            ExitCode::SUCCESS
        }
        Err(e) => failed(&e),
    }
}

/// Prints an admin call's error and returns its exit code.
pub fn failed(e: &Error) -> ExitCode {
    eprintln!("fxmsg: {e}");
    ExitCode::from(match e {
        Error::Transport(_) | Error::Decode(_) | Error::Io(_) => exit::TRANSPORT,
        Error::Config(_) | Error::Invalid(_) => exit::USAGE,
        _ => exit::API,
    })
}

impl AdminConnection {
    /// The admin client, or (having said what is missing) the usage exit code.
    pub fn client(&self) -> Result<AdminClient, ExitCode> {
        let Some(token) = &self.admin_token else {
            eprintln!(
                "fxmsg: missing --admin-token: pass it, or set FXMSG_ADMIN_TOKEN to the token \
                 the server printed at its first start"
            );
            return Err(ExitCode::from(exit::USAGE));
        };
        Ok(AdminClient::new(&self.url, token))
    }
}

async fn execute(c: &AdminClient, command: AdminCommand) -> Result<Value, Error> {
    fn json<T: serde::Serialize>(v: T) -> Result<Value, Error> {
        serde_json::to_value(v).map_err(|e| Error::Decode(e.to_string()))
    }
    match command {
        AdminCommand::Corp(CorpCommand::Create { name, ea }) => {
            json(c.create_corp(&name, &ea).await?)
        }
        AdminCommand::Corp(CorpCommand::List) => json(c.list_corps().await?),
        AdminCommand::App(AppCommand::Create { corp, name }) => {
            json(c.create_app(&corp, &name).await?)
        }
        AdminCommand::App(AppCommand::List { corp }) => json(c.list_apps(&corp).await?),
        AdminCommand::App(AppCommand::Enable(a)) => {
            json(c.set_app_enabled(&a.corp, &a.app, true).await?)
        }
        AdminCommand::App(AppCommand::Disable(a)) => {
            json(c.set_app_enabled(&a.corp, &a.app, false).await?)
        }
        AdminCommand::Employee(EmployeeCommand::Create {
            corp,
            name,
            user_id,
            mobile,
            departments,
            position,
        }) => {
            let new = NewEmployee {
                name,
                user_id,
                mobile,
                position,
                department_ids: departments,
                ..NewEmployee::default()
            };
            json(c.add_employee(&corp, &new).await?)
        }
        AdminCommand::Employee(EmployeeCommand::Update {
            employee,
            name,
            mobile,
            email,
            position,
            nick_name,
            account,
            gender,
            leader,
            departments,
        }) => {
            // An empty value clears the field.
            let set = |v: Option<String>| v.map(|v| Some(v).filter(|v| !v.is_empty()));
            let patch = EmployeePatch {
                name,
                mobile: set(mobile),
                email: set(email),
                position: set(position),
                nick_name: set(nick_name),
                account: set(account),
                gender: set(gender),
                leader_id: set(leader),
                department_ids: (!departments.is_empty()).then_some(departments),
                ..EmployeePatch::default()
            };
            json(
                c.update_employee(&employee.corp, &employee.employee, &patch)
                    .await?,
            )
        }
        AdminCommand::Department(DepartmentCommand::Create {
            corp,
            name,
            id,
            parent,
            order,
        }) => {
            let new = NewDepartment {
                id,
                name,
                parent_id: parent,
                order,
                ..NewDepartment::default()
            };
            json(c.create_department(&corp, &new).await?)
        }
        AdminCommand::Department(DepartmentCommand::List { corp }) => {
            json(c.list_departments(&corp).await?)
        }
        AdminCommand::Department(DepartmentCommand::Update {
            corp,
            id,
            name,
            parent,
            order,
            stop,
            restart,
        }) => {
            let patch = DepartmentPatch {
                name,
                parent_id: parent,
                order,
                stopped: (stop || restart).then_some(stop),
                ..DepartmentPatch::default()
            };
            json(c.update_department(&corp, id, &patch).await?)
        }
        AdminCommand::Import { corp, file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| Error::Config(format!("{}: {e}", file.display())))?;
            let csv = file
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
            json(c.import_directory_text(&corp, text, csv).await?)
        }
        AdminCommand::Export { corp, csv: true } => {
            Ok(Value::String(c.export_directory_csv(&corp).await?))
        }
        // The file itself, with or without --json: what `import` reads back.
        AdminCommand::Export { corp, csv: false } => {
            let file = c.export_directory(&corp).await?;
            let text =
                serde_json::to_string_pretty(&file).map_err(|e| Error::Decode(e.to_string()))?;
            Ok(Value::String(text + "\n"))
        }
        AdminCommand::Employee(EmployeeCommand::List { corp }) => {
            json(c.list_employees(&corp).await?)
        }
        AdminCommand::Employee(EmployeeCommand::Stop(e)) => json(
            c.set_employee_status(&e.corp, &e.employee, EmployeeStatus::Stopped)
                .await?,
        ),
        AdminCommand::Employee(EmployeeCommand::Activate(e)) => json(
            c.set_employee_status(&e.corp, &e.employee, EmployeeStatus::Active)
                .await?,
        ),
        AdminCommand::Employee(EmployeeCommand::Token(e)) => {
            json(c.issue_employee_token(&e.corp, &e.employee).await?)
        }
        AdminCommand::Employee(EmployeeCommand::Tokens(e)) => {
            json(c.employee_credentials(&e.corp, &e.employee).await?)
        }
        AdminCommand::Employee(EmployeeCommand::RevokeToken {
            employee,
            credential_id,
        }) => {
            c.revoke_employee_credential(&employee.corp, &employee.employee, &credential_id)
                .await?;
            Ok(serde_json::json!({"credentialId": credential_id, "revoked": true}))
        }
        AdminCommand::Employee(EmployeeCommand::LoginLink(e)) => {
            json(c.login_link(&e.corp, &e.employee).await?)
        }
        AdminCommand::Service(ServiceCommand::Create { corp, name }) => {
            json(c.create_service_account(&corp, &name).await?)
        }
        AdminCommand::Service(ServiceCommand::List { corp }) => {
            json(c.list_service_accounts(&corp).await?)
        }
        AdminCommand::Sandbox(SandboxCommand::Create {
            employees,
            ea,
            name,
        }) => {
            let new = NewSandbox {
                name,
                ea,
                employees: Some(SandboxEmployees::Count(employees)),
                ..NewSandbox::default()
            };
            json(c.create_sandbox(&new).await?)
        }
        AdminCommand::Sandbox(SandboxCommand::Delete { corp }) => {
            c.delete_sandbox(&corp).await?;
            json(serde_json::json!({ "deleted": corp }))
        }
        AdminCommand::Reset { corp, .. } => json(c.delete_messages(corp.as_deref()).await?),
        AdminCommand::Clock(ClockCommand::Show) => json(c.clock().await?),
        AdminCommand::Clock(ClockCommand::Advance { secs }) => json(c.advance_clock(secs).await?),
        AdminCommand::Clock(ClockCommand::Set { time }) => {
            let change = ClockChange {
                set: Some(Value::String(time)),
                ..ClockChange::default()
            };
            json(c.change_clock(&change).await?)
        }
        AdminCommand::Fault(FaultCommand::Add { fault }) => {
            let fault: NewFault = serde_json::from_str(&fault)
                .map_err(|e| Error::Config(format!("the fault is not a fault's JSON: {e}")))?;
            json(c.add_fault(&fault).await?)
        }
        AdminCommand::Fault(FaultCommand::List) => json(c.list_faults().await?),
        AdminCommand::Fault(FaultCommand::Delete { id }) => {
            c.delete_fault(id).await?;
            json(serde_json::json!({ "deleted": id }))
        }
        AdminCommand::Fault(FaultCommand::Clear) => {
            c.clear_faults().await?;
            json(serde_json::json!({ "cleared": true }))
        }
    }
}

/// Text output: one `key: value` block per record, blank line between records.
pub fn print(value: &Value, as_json: bool) {
    if let Value::String(text) = value {
        print!("{text}");
        return;
    }
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
        return;
    }
    let records = match value {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            println!();
        }
        if let Value::Object(fields) = record {
            for (key, v) in fields {
                match v {
                    Value::String(s) => println!("{key}: {s}"),
                    other => println!("{key}: {other}"),
                }
            }
        }
    }
}
