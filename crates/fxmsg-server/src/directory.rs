//! Creating corps, apps, employees and service accounts: used by the admin API and by the first
//! start's demo bootstrap, so both create exactly the same records.

use fxmsg_api::native::{App, AppCredentials, Corp, Employee, EmployeeStatus, ServiceAccount};
use fxmsg_store::{AppRecord, Store, StoreError};

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

/// Creates a corp with a new `FSCID_…` id.
pub async fn create_corp(
    store: &dyn Store,
    name: &str,
    ea: &str,
    now: i64,
) -> Result<Corp, NativeError> {
    let valid_ea = (1..=64).contains(&ea.len())
        && ea
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid_ea {
        return Err(NativeError::bad_request(
            "ea: must be 1..64 letters, digits, '_' or '-'",
        ));
    }
    let corp = Corp {
        corp_id: new_corp_id(),
        ea: ea.into(),
        name: check_name(name)?,
        created_at: now,
    };
    store.create_corp(&corp).await.map_err(|e| match e {
        StoreError::Conflict(_) => {
            NativeError::conflict(format!("ea: a corp with ea {ea:?} already exists"))
        }
        other => other.into(),
    })?;
    Ok(corp)
}

/// Creates an app; its appSecret and permanentCode are returned here and never again.
pub async fn create_app(
    store: &dyn Store,
    corp_id: &str,
    name: &str,
    now: i64,
) -> Result<AppCredentials, NativeError> {
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
    store.create_app(&record).await?;
    Ok(AppCredentials {
        app,
        app_secret,
        permanent_code,
    })
}

/// Creates an active employee; without `user_id` the next free number from 1000 is used.
pub async fn create_employee(
    store: &dyn Store,
    corp_id: &str,
    name: &str,
    user_id: Option<&str>,
    now: i64,
) -> Result<Employee, NativeError> {
    let user_id = match user_id.map(str::trim) {
        Some(id)
            if (1..=64).contains(&id.len())
                && !id.starts_with("FSUID_")
                && !id.contains(char::is_whitespace) =>
        {
            id.to_owned()
        }
        Some(_) => {
            return Err(NativeError::bad_request(
                "userId: must be 1..64 characters without spaces or FSUID_",
            ))
        }
        None => {
            let taken = store.list_employees(corp_id).await?;
            let next = taken
                .iter()
                .filter_map(|e| e.user_id.parse::<u64>().ok())
                .max()
                .map_or(1000, |n| n.max(999) + 1);
            next.to_string()
        }
    };
    if store.corp(corp_id).await?.is_none() {
        return Err(NativeError::not_found(format!("no corp {corp_id}")));
    }
    let employee = Employee {
        open_user_id: new_open_user_id(),
        user_id,
        corp_id: corp_id.into(),
        name: check_name(name)?,
        status: EmployeeStatus::Active,
        created_at: now,
    };
    store
        .create_employee(&employee)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => NativeError::conflict(format!(
                "userId: employee number {} is taken in corp {corp_id}",
                employee.user_id
            )),
            other => other.into(),
        })?;
    Ok(employee)
}

/// Creates a service account with a new `FSAID_…` id.
pub async fn create_service_account(
    store: &dyn Store,
    corp_id: &str,
    name: &str,
    now: i64,
) -> Result<ServiceAccount, NativeError> {
    let account = ServiceAccount {
        service_id: new_app_id(),
        corp_id: corp_id.into(),
        name: check_name(name)?,
        created_at: now,
    };
    store.create_service_account(&account).await?;
    Ok(account)
}
