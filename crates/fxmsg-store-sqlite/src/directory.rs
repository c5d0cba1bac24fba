//! Corps, apps, employees and service accounts.

use fxmsg_api::native::{App, Corp, Employee, EmployeeStatus, ServiceAccount};
use fxmsg_store::{AppRecord, Result};
use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};
use sqlx::Row;

use crate::backend;

fn corp_from(row: &SqliteRow) -> Corp {
    Corp {
        corp_id: row.get("corp_id"),
        ea: row.get("ea"),
        name: row.get("name"),
        created_at: row.get("created_at"),
    }
}

fn app_from(row: &SqliteRow) -> App {
    App {
        app_id: row.get("app_id"),
        corp_id: row.get("corp_id"),
        name: row.get("name"),
        enabled: row.get::<i64, _>("enabled") != 0,
        created_at: row.get("created_at"),
    }
}

fn employee_from(row: &SqliteRow) -> Employee {
    let status = if row.get::<String, _>("status") == "active" {
        EmployeeStatus::Active
    } else {
        EmployeeStatus::Stopped
    };
    Employee {
        open_user_id: row.get("open_user_id"),
        user_id: row.get("user_id"),
        corp_id: row.get("corp_id"),
        name: row.get("name"),
        status,
        created_at: row.get("created_at"),
    }
}

fn service_account_from(row: &SqliteRow) -> ServiceAccount {
    ServiceAccount {
        service_id: row.get("service_id"),
        corp_id: row.get("corp_id"),
        name: row.get("name"),
        created_at: row.get("created_at"),
    }
}

pub async fn create_corp(db: &mut SqliteConnection, corp: &Corp) -> Result<()> {
    sqlx::query("INSERT INTO corps (corp_id, ea, name, created_at) VALUES (?, ?, ?, ?)")
        .bind(&corp.corp_id)
        .bind(&corp.ea)
        .bind(&corp.name)
        .bind(corp.created_at)
        .execute(db)
        .await
        .map_err(backend)?;
    Ok(())
}

pub async fn list_corps(db: &SqlitePool) -> Result<Vec<Corp>> {
    let rows = sqlx::query("SELECT * FROM corps ORDER BY created_at, corp_id")
        .fetch_all(db)
        .await
        .map_err(backend)?;
    Ok(rows.iter().map(corp_from).collect())
}

/// `column` is one of two literals chosen by the caller, never client input.
pub async fn corp_where(
    db: &SqlitePool,
    column: &'static str,
    value: &str,
) -> Result<Option<Corp>> {
    let sql = format!("SELECT * FROM corps WHERE {column} = ?");
    let row = sqlx::query(&sql)
        .bind(value)
        .fetch_optional(db)
        .await
        .map_err(backend)?;
    Ok(row.as_ref().map(corp_from))
}

pub async fn create_app(db: &mut SqliteConnection, record: &AppRecord) -> Result<()> {
    let app = &record.app;
    sqlx::query(
        "INSERT INTO apps (app_id, corp_id, name, enabled, secret_hash, permanent_code_hash, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&app.app_id)
    .bind(&app.corp_id)
    .bind(&app.name)
    .bind(app.enabled as i64)
    .bind(&record.secret_hash)
    .bind(&record.permanent_code_hash)
    .bind(app.created_at)
    .execute(db)
    .await
    .map_err(backend)?;
    Ok(())
}

pub async fn list_apps(db: &SqlitePool, corp_id: &str) -> Result<Vec<App>> {
    let rows = sqlx::query("SELECT * FROM apps WHERE corp_id = ? ORDER BY created_at, app_id")
        .bind(corp_id)
        .fetch_all(db)
        .await
        .map_err(backend)?;
    Ok(rows.iter().map(app_from).collect())
}

pub async fn app(db: &SqlitePool, app_id: &str) -> Result<Option<AppRecord>> {
    let row = sqlx::query("SELECT * FROM apps WHERE app_id = ?")
        .bind(app_id)
        .fetch_optional(db)
        .await
        .map_err(backend)?;
    Ok(row.map(|row| AppRecord {
        app: app_from(&row),
        secret_hash: row.get("secret_hash"),
        permanent_code_hash: row.get("permanent_code_hash"),
    }))
}

pub async fn set_app_enabled(
    db: &mut SqliteConnection,
    corp_id: &str,
    app_id: &str,
    enabled: bool,
) -> Result<Option<App>> {
    let row =
        sqlx::query("UPDATE apps SET enabled = ? WHERE corp_id = ? AND app_id = ? RETURNING *")
            .bind(enabled as i64)
            .bind(corp_id)
            .bind(app_id)
            .fetch_optional(db)
            .await
            .map_err(backend)?;
    Ok(row.as_ref().map(app_from))
}

pub async fn create_employee(db: &mut SqliteConnection, e: &Employee) -> Result<()> {
    sqlx::query(
        "INSERT INTO employees (open_user_id, corp_id, user_id, name, status, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&e.open_user_id)
    .bind(&e.corp_id)
    .bind(&e.user_id)
    .bind(&e.name)
    .bind(e.status.as_str())
    .bind(e.created_at)
    .execute(db)
    .await
    .map_err(backend)?;
    Ok(())
}

pub async fn list_employees(db: &SqlitePool, corp_id: &str) -> Result<Vec<Employee>> {
    let rows =
        sqlx::query("SELECT * FROM employees WHERE corp_id = ? ORDER BY length(user_id), user_id")
            .bind(corp_id)
            .fetch_all(db)
            .await
            .map_err(backend)?;
    Ok(rows.iter().map(employee_from).collect())
}

pub async fn employee(db: &SqlitePool, corp_id: &str, id: &str) -> Result<Option<Employee>> {
    let row = sqlx::query(
        "SELECT * FROM employees WHERE corp_id = ? AND (open_user_id = ? OR user_id = ?)",
    )
    .bind(corp_id)
    .bind(id)
    .bind(id)
    .fetch_optional(db)
    .await
    .map_err(backend)?;
    Ok(row.as_ref().map(employee_from))
}

pub async fn set_employee_status(
    db: &mut SqliteConnection,
    corp_id: &str,
    open_user_id: &str,
    status: EmployeeStatus,
) -> Result<Option<Employee>> {
    let row = sqlx::query(
        "UPDATE employees SET status = ? WHERE corp_id = ? AND open_user_id = ? RETURNING *",
    )
    .bind(status.as_str())
    .bind(corp_id)
    .bind(open_user_id)
    .fetch_optional(db)
    .await
    .map_err(backend)?;
    Ok(row.as_ref().map(employee_from))
}

pub async fn create_service_account(db: &mut SqliteConnection, a: &ServiceAccount) -> Result<()> {
    sqlx::query(
        "INSERT INTO service_accounts (service_id, corp_id, name, created_at) VALUES (?, ?, ?, ?)",
    )
    .bind(&a.service_id)
    .bind(&a.corp_id)
    .bind(&a.name)
    .bind(a.created_at)
    .execute(db)
    .await
    .map_err(backend)?;
    Ok(())
}

pub async fn list_service_accounts(db: &SqlitePool, corp_id: &str) -> Result<Vec<ServiceAccount>> {
    let rows = sqlx::query(
        "SELECT * FROM service_accounts WHERE corp_id = ? ORDER BY created_at, service_id",
    )
    .bind(corp_id)
    .fetch_all(db)
    .await
    .map_err(backend)?;
    Ok(rows.iter().map(service_account_from).collect())
}

pub async fn service_account(
    db: &SqlitePool,
    corp_id: &str,
    service_id: &str,
) -> Result<Option<ServiceAccount>> {
    let row = sqlx::query("SELECT * FROM service_accounts WHERE corp_id = ? AND service_id = ?")
        .bind(corp_id)
        .bind(service_id)
        .fetch_optional(db)
        .await
        .map_err(backend)?;
    Ok(row.as_ref().map(service_account_from))
}
