//! Corps, apps, employees and service accounts.

use fxmsg_api::native::{App, Corp, Department, Employee, EmployeeStatus, ServiceAccount};
use fxmsg_store::{AppRecord, Result};
use rusqlite::{params, Connection};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::Row;

use crate::backend;
use crate::writer::error;

fn corp_from(row: &SqliteRow) -> Corp {
    Corp {
        corp_id: row.get("corp_id"),
        ea: row.get("ea"),
        name: row.get("name"),
        created_at: row.get("created_at"),
        sandbox: row.get::<i64, _>("sandbox") != 0,
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
        mobile: row.get("mobile"),
        account: row.get("account"),
        nick_name: row.get("nick_name"),
        email: row.get("email"),
        gender: row.get("gender"),
        position: row.get("position"),
        main_department_id: row.get("main_department_id"),
        // Written only by `put_employee`, from a `Vec<i64>`.
        department_ids: serde_json::from_str(row.get("department_ids")).unwrap_or_default(),
        leader_id: row.get("leader_id"),
        created_at: row.get("created_at"),
    }
}

fn department_from(row: &SqliteRow) -> Department {
    Department {
        id: row.get("department_id"),
        corp_id: row.get("corp_id"),
        name: row.get("name"),
        parent_id: row.get("parent_id"),
        order: row.get("ord"),
        stopped: row.get::<i64, _>("stopped") != 0,
        principal_id: row.get("principal_id"),
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

pub async fn list_corps(db: &SqlitePool) -> Result<Vec<Corp>> {
    let rows = sqlx::query("SELECT * FROM corps ORDER BY created_at, corp_id")
        .fetch_all(db)
        .await
        .map_err(backend)?;
    Ok(rows.iter().map(corp_from).collect())
}

pub async fn corp(db: &SqlitePool, corp_id: &str) -> Result<Option<Corp>> {
    let row = sqlx::query("SELECT * FROM corps WHERE corp_id = ?")
        .bind(corp_id)
        .fetch_optional(db)
        .await
        .map_err(backend)?;
    Ok(row.as_ref().map(corp_from))
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

pub async fn list_employees(db: &SqlitePool, corp_id: &str) -> Result<Vec<Employee>> {
    let rows = sqlx::query(&format!(
        "SELECT * FROM employees WHERE corp_id = ? {BY_NUMBER}"
    ))
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

/// Employees in order of their numbers: shorter first, so 999 comes before 1000.
const BY_NUMBER: &str = "ORDER BY length(user_id), user_id";

pub async fn employees_by_mobile(
    db: &SqlitePool,
    corp_id: &str,
    mobile: &str,
) -> Result<Vec<Employee>> {
    let sql = format!("SELECT * FROM employees WHERE corp_id = ? AND mobile = ? {BY_NUMBER}");
    let rows = sqlx::query(&sql)
        .bind(corp_id)
        .bind(mobile)
        .fetch_all(db)
        .await
        .map_err(backend)?;
    Ok(rows.iter().map(employee_from).collect())
}

/// Employees in `department` (main or attaching), and with `fetch_child` in every department
/// below it.
pub async fn department_members(
    db: &SqlitePool,
    corp_id: &str,
    department: i64,
    fetch_child: bool,
) -> Result<Vec<Employee>> {
    let sql = format!(
        "WITH RECURSIVE wanted(id) AS (
             SELECT ?2
             UNION
             SELECT d.department_id FROM departments d JOIN wanted w ON d.parent_id = w.id
              WHERE ?3 AND d.corp_id = ?1
         )
         SELECT * FROM employees e
          WHERE e.corp_id = ?1
            AND EXISTS (SELECT 1 FROM json_each(e.department_ids) j
                         WHERE j.value IN (SELECT id FROM wanted))
          {BY_NUMBER}"
    );
    let rows = sqlx::query(&sql)
        .bind(corp_id)
        .bind(department)
        .bind(fetch_child)
        .fetch_all(db)
        .await
        .map_err(backend)?;
    Ok(rows.iter().map(employee_from).collect())
}

pub async fn list_departments(db: &SqlitePool, corp_id: &str) -> Result<Vec<Department>> {
    let rows = sqlx::query("SELECT * FROM departments WHERE corp_id = ? ORDER BY department_id")
        .bind(corp_id)
        .fetch_all(db)
        .await
        .map_err(backend)?;
    Ok(rows.iter().map(department_from).collect())
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

pub fn create_corp(db: &Connection, corp: &Corp) -> Result<()> {
    db.prepare_cached(
        "INSERT INTO corps (corp_id, ea, name, created_at, sandbox) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| {
        s.execute(params![
            corp.corp_id,
            corp.ea,
            corp.name,
            corp.created_at,
            corp.sandbox as i64
        ])
    })
    .map(drop)
    .map_err(error)
}

pub fn create_app(db: &Connection, record: &AppRecord) -> Result<()> {
    let app = &record.app;
    db.prepare_cached(
        "INSERT INTO apps (app_id, corp_id, name, enabled, secret_hash, permanent_code_hash, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut s| {
        s.execute(params![
            app.app_id,
            app.corp_id,
            app.name,
            app.enabled as i64,
            record.secret_hash,
            record.permanent_code_hash,
            app.created_at
        ])
    })
    .map(drop)
    .map_err(error)
}

/// Returns whether the app exists in the corp.
pub fn set_app_enabled(
    db: &Connection,
    corp_id: &str,
    app_id: &str,
    enabled: bool,
) -> Result<bool> {
    db.prepare_cached("UPDATE apps SET enabled = ?1 WHERE corp_id = ?2 AND app_id = ?3")
        .and_then(|mut s| s.execute(params![enabled as i64, corp_id, app_id]))
        .map(|changed| changed == 1)
        .map_err(error)
}

/// Inserts the employee, or replaces the corp's employee with its `FSUID_…`. `Conflict` if the
/// number belongs to another employee of the corp.
pub fn put_employee(db: &Connection, e: &Employee) -> Result<()> {
    let departments = serde_json::to_string(&e.department_ids).map_err(crate::backend)?;
    db.prepare_cached(
        "INSERT INTO employees (open_user_id, corp_id, user_id, name, status, mobile, account,
                                nick_name, email, gender, position, leader_id, main_department_id,
                                department_ids, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
         ON CONFLICT (open_user_id) DO UPDATE SET
             user_id = excluded.user_id, name = excluded.name, status = excluded.status,
             mobile = excluded.mobile, account = excluded.account, nick_name = excluded.nick_name,
             email = excluded.email, gender = excluded.gender, position = excluded.position,
             leader_id = excluded.leader_id, main_department_id = excluded.main_department_id,
             department_ids = excluded.department_ids
         WHERE employees.corp_id = excluded.corp_id",
    )
    .and_then(|mut s| {
        s.execute(params![
            e.open_user_id,
            e.corp_id,
            e.user_id,
            e.name,
            e.status.as_str(),
            e.mobile,
            e.account,
            e.nick_name,
            e.email,
            e.gender,
            e.position,
            e.leader_id,
            e.main_department_id,
            departments,
            e.created_at
        ])
    })
    .map(drop)
    .map_err(error)
}

/// Inserts the department, or replaces the corp's department with its id.
pub fn put_department(db: &Connection, d: &Department) -> Result<()> {
    db.prepare_cached(
        "INSERT INTO departments (corp_id, department_id, name, parent_id, ord, stopped,
                                  principal_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (corp_id, department_id) DO UPDATE SET
             name = excluded.name, parent_id = excluded.parent_id, ord = excluded.ord,
             stopped = excluded.stopped, principal_id = excluded.principal_id",
    )
    .and_then(|mut s| {
        s.execute(params![
            d.corp_id,
            d.id,
            d.name,
            d.parent_id,
            d.order,
            d.stopped as i64,
            d.principal_id,
            d.created_at
        ])
    })
    .map(drop)
    .map_err(error)
}

pub fn create_service_account(db: &Connection, a: &ServiceAccount) -> Result<()> {
    db.prepare_cached("INSERT INTO service_accounts (service_id, corp_id, name, created_at) VALUES (?1, ?2, ?3, ?4)")
        .and_then(|mut s| s.execute(params![a.service_id, a.corp_id, a.name, a.created_at]))
        .map(drop)
        .map_err(error)
}
