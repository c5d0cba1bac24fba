//! Corps, apps, employees, departments and service accounts; whole tenants made and deleted.

use fxmsg_api::native::{App, Corp, Department, Employee, EmployeeStatus, ServiceAccount};
use fxmsg_store::{AppRecord, Result, Tenant};
use sqlx::postgres::{PgPool, PgRow};
use sqlx::{PgConnection, Row};

use crate::db;

fn corp_from(row: &PgRow) -> Corp {
    Corp {
        corp_id: row.get("corp_id"),
        ea: row.get("ea"),
        name: row.get("name"),
        created_at: row.get("created_at"),
        sandbox: row.get("sandbox"),
    }
}

fn app_from(row: &PgRow) -> App {
    App {
        app_id: row.get("app_id"),
        corp_id: row.get("corp_id"),
        name: row.get("name"),
        enabled: row.get("enabled"),
        created_at: row.get("created_at"),
    }
}

pub(crate) fn employee_from(row: &PgRow) -> Employee {
    let status = if row.get::<&str, _>("status") == "active" {
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
        department_ids: row.get("department_ids"),
        leader_id: row.get("leader_id"),
        created_at: row.get("created_at"),
    }
}

fn department_from(row: &PgRow) -> Department {
    Department {
        id: row.get("department_id"),
        corp_id: row.get("corp_id"),
        name: row.get("name"),
        parent_id: row.get("parent_id"),
        order: row.get("ord"),
        stopped: row.get("stopped"),
        principal_id: row.get("principal_id"),
        created_at: row.get("created_at"),
    }
}

fn service_account_from(row: &PgRow) -> ServiceAccount {
    ServiceAccount {
        service_id: row.get("service_id"),
        corp_id: row.get("corp_id"),
        name: row.get("name"),
        created_at: row.get("created_at"),
    }
}

pub async fn list_corps(pool: &PgPool) -> Result<Vec<Corp>> {
    let rows = sqlx::query("SELECT * FROM corps ORDER BY created_at, corp_id")
        .fetch_all(pool)
        .await
        .map_err(db)?;
    Ok(rows.iter().map(corp_from).collect())
}

pub async fn corp(pool: &PgPool, corp_id: &str) -> Result<Option<Corp>> {
    let row = sqlx::query("SELECT * FROM corps WHERE corp_id = $1")
        .bind(corp_id)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    Ok(row.as_ref().map(corp_from))
}

pub async fn list_apps(pool: &PgPool, corp_id: &str) -> Result<Vec<App>> {
    let rows = sqlx::query("SELECT * FROM apps WHERE corp_id = $1 ORDER BY created_at, app_id")
        .bind(corp_id)
        .fetch_all(pool)
        .await
        .map_err(db)?;
    Ok(rows.iter().map(app_from).collect())
}

pub async fn app(pool: &PgPool, app_id: &str) -> Result<Option<AppRecord>> {
    let row = sqlx::query("SELECT * FROM apps WHERE app_id = $1")
        .bind(app_id)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    Ok(row.map(|row| AppRecord {
        app: app_from(&row),
        secret_hash: row.get("secret_hash"),
        permanent_code_hash: row.get("permanent_code_hash"),
    }))
}

pub async fn set_app_enabled(
    pool: &PgPool,
    corp_id: &str,
    app_id: &str,
    enabled: bool,
) -> Result<Option<App>> {
    let row =
        sqlx::query("UPDATE apps SET enabled = $1 WHERE corp_id = $2 AND app_id = $3 RETURNING *")
            .bind(enabled)
            .bind(corp_id)
            .bind(app_id)
            .fetch_optional(pool)
            .await
            .map_err(db)?;
    Ok(row.as_ref().map(app_from))
}

/// Employees in employee-number order: `2` before `10`.
const BY_NUMBER: &str = "ORDER BY length(user_id), user_id";

pub async fn list_employees(pool: &PgPool, corp_id: &str) -> Result<Vec<Employee>> {
    let rows = sqlx::query(&format!(
        "SELECT * FROM employees WHERE corp_id = $1 {BY_NUMBER}"
    ))
    .bind(corp_id)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    Ok(rows.iter().map(employee_from).collect())
}

pub async fn employee(pool: &PgPool, corp_id: &str, id: &str) -> Result<Option<Employee>> {
    let row = sqlx::query(
        "SELECT * FROM employees WHERE corp_id = $1 AND (open_user_id = $2 OR user_id = $2)",
    )
    .bind(corp_id)
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    Ok(row.as_ref().map(employee_from))
}

pub async fn employees_by_mobile(
    pool: &PgPool,
    corp_id: &str,
    mobile: &str,
) -> Result<Vec<Employee>> {
    let sql = format!("SELECT * FROM employees WHERE corp_id = $1 AND mobile = $2 {BY_NUMBER}");
    let rows = sqlx::query(&sql)
        .bind(corp_id)
        .bind(mobile)
        .fetch_all(pool)
        .await
        .map_err(db)?;
    Ok(rows.iter().map(employee_from).collect())
}

pub async fn department_members(
    pool: &PgPool,
    corp_id: &str,
    department: i64,
    fetch_child: bool,
) -> Result<Vec<Employee>> {
    let sql = format!(
        "WITH RECURSIVE wanted(id) AS (
             SELECT $2::BIGINT
             UNION
             SELECT d.department_id FROM departments d JOIN wanted w ON d.parent_id = w.id
              WHERE $3 AND d.corp_id = $1
         )
         SELECT * FROM employees e
          WHERE e.corp_id = $1 AND e.department_ids && ARRAY(SELECT id FROM wanted)
          {BY_NUMBER}"
    );
    let rows = sqlx::query(&sql)
        .bind(corp_id)
        .bind(department)
        .bind(fetch_child)
        .fetch_all(pool)
        .await
        .map_err(db)?;
    Ok(rows.iter().map(employee_from).collect())
}

pub async fn resolve_recipients(
    pool: &PgPool,
    corp_id: &str,
    ids: &[String],
) -> Result<Vec<Option<String>>> {
    let rows = sqlx::query(
        "SELECT open_user_id, user_id, status = 'active' AS active FROM employees
          WHERE corp_id = $1 AND (open_user_id = ANY($2) OR user_id = ANY($2))",
    )
    .bind(corp_id)
    .bind(ids)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let mut found = std::collections::HashMap::with_capacity(rows.len() * 2);
    for row in &rows {
        let (open_user_id, user_id): (String, String) =
            (row.get("open_user_id"), row.get("user_id"));
        let active: bool = row.get("active");
        found.insert(user_id, (open_user_id.clone(), active));
        found.insert(open_user_id.clone(), (open_user_id, active));
    }
    Ok(ids
        .iter()
        .map(|id| match found.get(id) {
            Some((open_user_id, true)) => Some(open_user_id.clone()),
            _ => None,
        })
        .collect())
}

pub async fn list_departments(pool: &PgPool, corp_id: &str) -> Result<Vec<Department>> {
    let rows = sqlx::query("SELECT * FROM departments WHERE corp_id = $1 ORDER BY department_id")
        .bind(corp_id)
        .fetch_all(pool)
        .await
        .map_err(db)?;
    Ok(rows.iter().map(department_from).collect())
}

pub async fn list_service_accounts(pool: &PgPool, corp_id: &str) -> Result<Vec<ServiceAccount>> {
    let rows = sqlx::query(
        "SELECT * FROM service_accounts WHERE corp_id = $1 ORDER BY created_at, service_id",
    )
    .bind(corp_id)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    Ok(rows.iter().map(service_account_from).collect())
}

pub async fn service_account(
    pool: &PgPool,
    corp_id: &str,
    service_id: &str,
) -> Result<Option<ServiceAccount>> {
    let row = sqlx::query("SELECT * FROM service_accounts WHERE corp_id = $1 AND service_id = $2")
        .bind(corp_id)
        .bind(service_id)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    Ok(row.as_ref().map(service_account_from))
}

pub async fn create_corp(c: &mut PgConnection, corp: &Corp) -> Result<()> {
    sqlx::query(
        "INSERT INTO corps (corp_id, ea, name, created_at, sandbox) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&corp.corp_id)
    .bind(&corp.ea)
    .bind(&corp.name)
    .bind(corp.created_at)
    .bind(corp.sandbox)
    .execute(c)
    .await
    .map_err(db)?;
    Ok(())
}

pub async fn create_app(c: &mut PgConnection, record: &AppRecord) -> Result<()> {
    let app = &record.app;
    sqlx::query(
        "INSERT INTO apps (app_id, corp_id, name, enabled, secret_hash, permanent_code_hash,
                           created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&app.app_id)
    .bind(&app.corp_id)
    .bind(&app.name)
    .bind(app.enabled)
    .bind(&record.secret_hash)
    .bind(&record.permanent_code_hash)
    .bind(app.created_at)
    .execute(c)
    .await
    .map_err(db)?;
    Ok(())
}

pub async fn create_service_account(c: &mut PgConnection, a: &ServiceAccount) -> Result<()> {
    sqlx::query(
        "INSERT INTO service_accounts (service_id, corp_id, name, created_at)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(&a.service_id)
    .bind(&a.corp_id)
    .bind(&a.name)
    .bind(a.created_at)
    .execute(c)
    .await
    .map_err(db)?;
    Ok(())
}

/// Inserts the employee, or replaces the corp's employee with its `FSUID_…`. An id of another
/// corp's employee is left alone, and the insert then fails on it.
pub async fn put_employee(c: &mut PgConnection, e: &Employee) -> Result<()> {
    let written = sqlx::query(
        "INSERT INTO employees (open_user_id, corp_id, user_id, name, status, mobile, account,
                                nick_name, email, gender, position, leader_id, main_department_id,
                                department_ids, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         ON CONFLICT (open_user_id) DO UPDATE SET
             user_id = excluded.user_id, name = excluded.name, status = excluded.status,
             mobile = excluded.mobile, account = excluded.account, nick_name = excluded.nick_name,
             email = excluded.email, gender = excluded.gender, position = excluded.position,
             leader_id = excluded.leader_id, main_department_id = excluded.main_department_id,
             department_ids = excluded.department_ids
         WHERE employees.corp_id = excluded.corp_id",
    )
    .bind(&e.open_user_id)
    .bind(&e.corp_id)
    .bind(&e.user_id)
    .bind(&e.name)
    .bind(e.status.as_str())
    .bind(&e.mobile)
    .bind(&e.account)
    .bind(&e.nick_name)
    .bind(&e.email)
    .bind(&e.gender)
    .bind(&e.position)
    .bind(&e.leader_id)
    .bind(e.main_department_id)
    .bind(&e.department_ids)
    .bind(e.created_at)
    .execute(c)
    .await
    .map_err(db)?;
    if written.rows_affected() == 0 {
        return Err(fxmsg_store::StoreError::Conflict("open_user_id".into()));
    }
    Ok(())
}

pub async fn put_department(c: &mut PgConnection, d: &Department) -> Result<()> {
    sqlx::query(
        "INSERT INTO departments (corp_id, department_id, name, parent_id, ord, stopped,
                                  principal_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (corp_id, department_id) DO UPDATE SET
             name = excluded.name, parent_id = excluded.parent_id, ord = excluded.ord,
             stopped = excluded.stopped, principal_id = excluded.principal_id",
    )
    .bind(&d.corp_id)
    .bind(d.id)
    .bind(&d.name)
    .bind(d.parent_id)
    .bind(d.order)
    .bind(d.stopped)
    .bind(&d.principal_id)
    .bind(d.created_at)
    .execute(c)
    .await
    .map_err(db)?;
    Ok(())
}

/// The corp with everything it starts with, in one transaction.
pub async fn create_tenant(pool: &PgPool, tenant: &Tenant) -> Result<()> {
    let mut tx = pool.begin().await.map_err(db)?;
    create_corp(&mut tx, &tenant.corp).await?;
    for app in &tenant.apps {
        create_app(&mut tx, app).await?;
    }
    for account in &tenant.service_accounts {
        create_service_account(&mut tx, account).await?;
    }
    for department in &tenant.departments {
        put_department(&mut tx, department).await?;
    }
    for employee in &tenant.employees {
        put_employee(&mut tx, employee).await?;
    }
    tx.commit().await.map_err(db)
}

/// Deletes the corp and every row of it; returns its media's object keys.
pub async fn delete_corp(pool: &PgPool, corp_id: &str) -> Result<Option<Vec<String>>> {
    let mut tx = pool.begin().await.map_err(db)?;
    // Locked first: a send or upload of the corp in flight finishes before, none starts after.
    let found = sqlx::query("SELECT 1 FROM corps WHERE corp_id = $1 FOR UPDATE")
        .bind(corp_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
    if found.is_none() {
        return Ok(None);
    }
    let keys: Vec<String> = sqlx::query_scalar("SELECT object_key FROM media WHERE corp_id = $1")
        .bind(corp_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
    crate::messages::delete_messages(&mut tx, Some(corp_id)).await?;
    for sql in [
        "DELETE FROM employee_credentials WHERE corp_id = $1",
        "DELETE FROM tokens WHERE corp_id = $1",
        "DELETE FROM media WHERE corp_id = $1",
        "DELETE FROM service_accounts WHERE corp_id = $1",
        "DELETE FROM employees WHERE corp_id = $1",
        "DELETE FROM departments WHERE corp_id = $1",
        "DELETE FROM apps WHERE corp_id = $1",
        "DELETE FROM event_watermarks WHERE corp_id = $1",
        "DELETE FROM event_heads WHERE corp_id = $1",
        "DELETE FROM corps WHERE corp_id = $1",
    ] {
        sqlx::query(sql)
            .bind(corp_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    tx.commit().await.map_err(db)?;
    Ok(Some(keys))
}
