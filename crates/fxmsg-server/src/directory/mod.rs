//! Creating corps, apps, employees and service accounts: used by the admin API and by the first
//! start's demo bootstrap, so both create exactly the same records. The address book
//! (departments, employees' fields) changes only through [`book::Book::apply`].

pub mod book;
pub mod file;

use fxmsg_api::native::{
    App, AppCredentials, Corp, Department, DirectoryFile, NewDepartment, NewEmployee, Sandbox,
    SandboxEmployees, ServiceAccount,
};
use fxmsg_store::{AppRecord, Store, StoreError, Tenant};

use crate::error::NativeError;
use crate::secrets::{new_app_id, new_app_secret, new_corp_id, new_permanent_code, sha256_hex};
use crate::state::AppState;
use book::{Book, Plan, Problem};

/// Longest display name, in characters.
const MAX_NAME_CHARS: usize = 100;

pub(crate) fn check_name(name: &str) -> Result<String, NativeError> {
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

pub(crate) fn check_user_id(user_id: &str) -> Result<String, NativeError> {
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

pub(crate) fn check_mobile(mobile: &str) -> Result<String, NativeError> {
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

/// Why a change of the address book was refused.
#[derive(Debug)]
pub enum Refused {
    /// The records do not fit: every problem, in file order.
    Problems(Vec<Problem>),
    /// Anything else (a missing corp, the store).
    Error(NativeError),
}

impl From<NativeError> for Refused {
    fn from(e: NativeError) -> Self {
        Refused::Error(e)
    }
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        Refused::Error(e.into())
    }
}

impl Refused {
    /// The error a single-record route answers: its problems, without their record.
    pub fn into_error(self) -> NativeError {
        match self {
            Refused::Problems(problems) => NativeError::bad_request(
                problems
                    .iter()
                    .map(|p| p.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            Refused::Error(e) => e,
        }
    }
}

/// Changes the corp's address book: `make` sees the book as stored and returns the records to
/// apply (see [`Book::apply`]); what changed is written in one transaction. Address-book writes
/// run one at a time, so each is checked against the state it changes.
pub async fn change_book(
    state: &AppState,
    corp_id: &str,
    keyed: bool,
    make: impl FnOnce(&Book) -> Result<DirectoryFile, NativeError>,
) -> Result<Plan, Refused> {
    let _one_at_a_time = state.directory_writes.lock().await;
    if state.store.corp(corp_id).await?.is_none() {
        return Err(NativeError::not_found(format!("no corp {corp_id}")).into());
    }
    let mut book = Book::load(state.store.as_ref(), corp_id).await?;
    let file = make(&book)?;
    let plan = book
        .apply(&file, keyed, state.now())
        .map_err(Refused::Problems)?;
    state
        .store
        .write_directory(corp_id, &plan.departments, &plan.employees)
        .await
        .map_err(|e| match e {
            // Checked against the book under the lock, so only a write from elsewhere races.
            StoreError::Conflict(_) => NativeError::conflict(
                "userId: an employee number was taken by another employee meanwhile; try again",
            ),
            other => other.into(),
        })?;
    Ok(plan)
}

/// The corp's departments as the platform lists them: `0`, the corp itself, first.
pub fn with_root(
    corp: &Corp,
    departments: impl IntoIterator<Item = Department>,
) -> Vec<Department> {
    std::iter::once(root(corp)).chain(departments).collect()
}

/// Department `0`: the corp itself.
pub fn root(corp: &Corp) -> Department {
    Department {
        id: 0,
        corp_id: corp.corp_id.clone(),
        name: corp.name.clone(),
        parent_id: 0,
        order: 1,
        stopped: false,
        principal_id: None,
        created_at: corp.created_at,
    }
}

/// The next free employee number: one above the highest numeric one, from 1000.
pub(crate) fn next_number<'a>(taken: impl Iterator<Item = &'a str>) -> u64 {
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
    /// The address book's departments.
    pub departments: Vec<NewDepartment>,
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
    let mut employees = plan.employees;
    if plan.sandbox {
        // Generated mobiles follow the numbers, so they are known before the book assigns them.
        let given = employees
            .iter()
            .filter_map(|e| e.user_id.clone())
            .collect::<Vec<_>>();
        let mut next = next_number(given.iter().map(String::as_str));
        for e in employees.iter_mut() {
            let number = e.user_id.clone().unwrap_or_else(|| {
                next += 1;
                (next - 1).to_string()
            });
            e.mobile.get_or_insert_with(|| format!("138{number:0>8}"));
            e.user_id = Some(number);
        }
    }
    let file = DirectoryFile {
        departments: plan.departments,
        employees,
    };
    let placed = Book::empty(&corp.corp_id)
        .apply(&file, false, now)
        .map_err(|problems| {
            NativeError::bad_request(
                problems
                    .iter()
                    .map(|p| format!("{}.{}", p.record, p.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
    let employees = placed.placed_employees;
    let tenant = Tenant {
        corp: corp.clone(),
        apps: vec![app_record],
        service_accounts: vec![service_account.clone()],
        departments: placed.placed_departments.clone(),
        employees: employees.clone(),
    };
    store.create_tenant(&tenant).await.map_err(|e| match e {
        StoreError::Conflict(_) => ea_taken(plan.ea),
        other => other.into(),
    })?;
    Ok(Sandbox {
        departments: with_root(&corp, placed.placed_departments),
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
