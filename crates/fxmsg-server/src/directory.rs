//! Creating corps, apps, employees and service accounts: used by the admin API and by the first
//! start's demo bootstrap, so both create exactly the same records.

use fxmsg_api::native::{
    App, AppCredentials, Corp, Employee, EmployeeStatus, NewEmployee, Sandbox, SandboxEmployees,
    ServiceAccount,
};
use fxmsg_store::{AppRecord, Store, StoreError, Tenant};

use crate::error::NativeError;
use crate::secrets::{
    new_app_id, new_app_secret, new_corp_id, new_open_user_id, new_permanent_code, sha256_hex,
};

/// Longest display name, in characters.
const MAX_NAME_CHARS: usize = 100;

fn check_name(name: &str) -> Result<String, NativeError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(NativeError::bad_request(format!(
            "name: must be 1..{MAX_NAME_CHARS} characters"
        )));
    }
    Ok(name.to_owned())
}

/// Checks a corp's ea: 1..64 letters, digits, `_` or `-`.
fn check_ea(ea: &str) -> Result<(), NativeError> {
    let valid = (1..=64).contains(&ea.len())
        && ea
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if valid {
        Ok(())
    } else {
        Err(NativeError::bad_request(
            "ea: must be 1..64 letters, digits, '_' or '-'",
        ))
    }
}

fn corp_record(name: &str, ea: &str, sandbox: bool, now: i64) -> Result<Corp, NativeError> {
    check_ea(ea)?;
    Ok(Corp {
        corp_id: new_corp_id(),
        ea: ea.into(),
        name: check_name(name)?,
        created_at: now,
        sandbox,
    })
}

fn ea_taken(ea: &str) -> NativeError {
    NativeError::conflict(format!("ea: a corp with ea {ea:?} already exists"))
}

/// Creates a corp with a new `FSCID_…` id.
pub async fn create_corp(
    store: &dyn Store,
    name: &str,
    ea: &str,
    now: i64,
) -> Result<Corp, NativeError> {
    let corp = corp_record(name, ea, false, now)?;
    store.create_corp(&corp).await.map_err(|e| match e {
        StoreError::Conflict(_) => ea_taken(ea),
        other => other.into(),
    })?;
    Ok(corp)
}

fn app_record(
    corp_id: &str,
    name: &str,
    now: i64,
) -> Result<(AppRecord, AppCredentials), NativeError> {
    let app = App {
        app_id: new_app_id(),
        corp_id: corp_id.into(),
        name: check_name(name)?,
        enabled: true,
        created_at: now,
    };
    let (app_secret, permanent_code) = (new_app_secret(), new_permanent_code());
    let record = AppRecord {
        app: app.clone(),
        secret_hash: sha256_hex(&app_secret),
        permanent_code_hash: sha256_hex(&permanent_code),
    };
    let credentials = AppCredentials {
        app,
        app_secret,
        permanent_code,
    };
    Ok((record, credentials))
}

/// Creates an app; its appSecret and permanentCode are returned here and never again.
pub async fn create_app(
    store: &dyn Store,
    corp_id: &str,
    name: &str,
    now: i64,
) -> Result<AppCredentials, NativeError> {
    let (record, credentials) = app_record(corp_id, name, now)?;
    store.create_app(&record).await?;
    Ok(credentials)
}

fn check_user_id(user_id: &str) -> Result<String, NativeError> {
    let id = user_id.trim();
    if (1..=64).contains(&id.len())
        && !id.starts_with("FSUID_")
        && !id.contains(char::is_whitespace)
    {
        Ok(id.to_owned())
    } else {
        Err(NativeError::bad_request(
            "userId: must be 1..64 characters without spaces or FSUID_",
        ))
    }
}

fn check_mobile(mobile: &str) -> Result<String, NativeError> {
    let mobile = mobile.trim();
    let digits = mobile.strip_prefix('+').unwrap_or(mobile);
    if (5..=20).contains(&mobile.len()) && digits.chars().all(|c| c.is_ascii_digit() || c == '-') {
        Ok(mobile.to_owned())
    } else {
        Err(NativeError::bad_request(
            "mobile: must be 5..20 digits or '-', optionally after '+'",
        ))
    }
}

fn employee_record(
    corp_id: &str,
    new: &NewEmployee,
    user_id: String,
    now: i64,
) -> Result<Employee, NativeError> {
    Ok(Employee {
        open_user_id: new_open_user_id(),
        user_id,
        corp_id: corp_id.into(),
        name: check_name(&new.name)?,
        status: EmployeeStatus::Active,
        mobile: new.mobile.as_deref().map(check_mobile).transpose()?,
        created_at: now,
    })
}

fn number_taken(corp_id: &str, user_id: &str) -> NativeError {
    NativeError::conflict(format!(
        "userId: employee number {user_id} is taken in corp {corp_id}"
    ))
}

/// Creates an active employee; without a `user_id` the next free number from 1000 is used.
pub async fn create_employee(
    store: &dyn Store,
    corp_id: &str,
    new: &NewEmployee,
    now: i64,
) -> Result<Employee, NativeError> {
    let user_id = match new.user_id.as_deref() {
        Some(id) => check_user_id(id)?,
        None => {
            let taken = store.list_employees(corp_id).await?;
            next_number(taken.iter().map(|e| e.user_id.as_str())).to_string()
        }
    };
    if store.corp(corp_id).await?.is_none() {
        return Err(NativeError::not_found(format!("no corp {corp_id}")));
    }
    let employee = employee_record(corp_id, new, user_id, now)?;
    store
        .create_employee(&employee)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => number_taken(corp_id, &employee.user_id),
            other => other.into(),
        })?;
    Ok(employee)
}

/// The next free employee number: one above the highest numeric one, from 1000.
fn next_number<'a>(taken: impl Iterator<Item = &'a str>) -> u64 {
    taken
        .filter_map(|id| id.parse::<u64>().ok())
        .max()
        .map_or(1000, |n| n.max(999) + 1)
}

/// Most employees a sandbox is created with: a send's recipient limit.
pub const MAX_SANDBOX_EMPLOYEES: usize = 500;
/// Employees of a sandbox created without a list or count.
const DEFAULT_SANDBOX_EMPLOYEES: u32 = 3;

/// What a tenant is created from: a sandbox request, or the demo.
pub struct TenantPlan<'a> {
    /// Display name.
    pub name: &'a str,
    /// Enterprise account.
    pub ea: &'a str,
    /// Deletable as a whole.
    pub sandbox: bool,
    /// App name.
    pub app: &'a str,
    /// Service account name.
    pub service_account: &'a str,
    /// Employees; a missing number is the next free one, a missing mobile (in sandboxes) is
    /// `138` and the number.
    pub employees: Vec<NewEmployee>,
}

/// Creates a corp with one app, one service account and its employees in one transaction, and
/// returns every credential.
pub async fn create_tenant(
    store: &dyn Store,
    plan: TenantPlan<'_>,
    now: i64,
) -> Result<Sandbox, NativeError> {
    if plan.employees.len() > MAX_SANDBOX_EMPLOYEES {
        return Err(NativeError::bad_request(format!(
            "employees: at most {MAX_SANDBOX_EMPLOYEES}, got {}",
            plan.employees.len()
        )));
    }
    let corp = corp_record(plan.name, plan.ea, plan.sandbox, now)?;
    let (app_record, app) = app_record(&corp.corp_id, plan.app, now)?;
    let service_account = service_account_record(&corp.corp_id, plan.service_account, now)?;
    let given = plan
        .employees
        .iter()
        .filter_map(|e| e.user_id.as_deref())
        .map(check_user_id)
        .collect::<Result<Vec<_>, _>>()?;
    let mut next = next_number(given.iter().map(String::as_str));
    let mut employees = Vec::with_capacity(plan.employees.len());
    for (at, new) in plan.employees.iter().enumerate() {
        let user_id = match &new.user_id {
            Some(id) => check_user_id(id)?,
            None => {
                let id = next;
                next += 1;
                id.to_string()
            }
        };
        if employees.iter().any(|e: &Employee| e.user_id == user_id) {
            return Err(NativeError::bad_request(format!(
                "employees[{at}].userId: {user_id} is given twice"
            )));
        }
        let mut new = new.clone();
        if plan.sandbox && new.mobile.is_none() {
            new.mobile = Some(format!("138{user_id:0>8}"));
        }
        let employee = employee_record(&corp.corp_id, &new, user_id, now)
            .map_err(|e| NativeError::bad_request(format!("employees[{at}].{}", e.message)))?;
        employees.push(employee);
    }
    let tenant = Tenant {
        corp: corp.clone(),
        apps: vec![app_record],
        service_accounts: vec![service_account.clone()],
        employees: employees.clone(),
    };
    store.create_tenant(&tenant).await.map_err(|e| match e {
        StoreError::Conflict(_) => ea_taken(plan.ea),
        other => other.into(),
    })?;
    Ok(Sandbox {
        corp,
        app,
        service_account,
        employees,
    })
}

/// The employees a sandbox request asks for, `Sandbox user N` for generated ones.
pub fn sandbox_employees(asked: Option<SandboxEmployees>) -> Result<Vec<NewEmployee>, NativeError> {
    match asked.unwrap_or(SandboxEmployees::Count(DEFAULT_SANDBOX_EMPLOYEES)) {
        SandboxEmployees::List(list) => Ok(list),
        SandboxEmployees::Count(n) if n as usize > MAX_SANDBOX_EMPLOYEES => {
            Err(NativeError::bad_request(format!(
                "employees: at most {MAX_SANDBOX_EMPLOYEES}, got {n}"
            )))
        }
        SandboxEmployees::Count(n) => Ok((1..=n)
            .map(|i| NewEmployee {
                name: format!("Sandbox user {i}"),
                ..NewEmployee::default()
            })
            .collect()),
    }
}

fn service_account_record(
    corp_id: &str,
    name: &str,
    now: i64,
) -> Result<ServiceAccount, NativeError> {
    Ok(ServiceAccount {
        service_id: new_app_id(),
        corp_id: corp_id.into(),
        name: check_name(name)?,
        created_at: now,
    })
}

/// Creates a service account with a new `FSAID_…` id.
pub async fn create_service_account(
    store: &dyn Store,
    corp_id: &str,
    name: &str,
    now: i64,
) -> Result<ServiceAccount, NativeError> {
    let account = service_account_record(corp_id, name, now)?;
    store.create_service_account(&account).await?;
    Ok(account)
}
