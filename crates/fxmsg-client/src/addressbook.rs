//! The address book: the platform's reads on [`Client`] (`/cgi/department/*`, `/cgi/user/*`),
//! and fxmsg's administration of it on [`AdminClient`] (departments, employees' fields, whole
//! directories exported and imported).

pub use fxmsg_api::addressbook::{DepartmentInfo, UserBrief, UserInfo};
use fxmsg_api::addressbook::{DepartmentList, EmployeesByMobile, UserList, UserSimpleList};
use fxmsg_api::native::{
    Department, DepartmentPatch, DirectoryFile, Employee, EmployeePatch, ImportSummary,
    NewDepartment, NewEmployee,
};
use serde_json::json;

use crate::admin::AdminClient;
use crate::{Client, Error};

impl Client {
    /// Every department of the corp, `0` (the corp itself) first.
    pub async fn departments(&self) -> Result<Vec<DepartmentInfo>, Error> {
        let list: DepartmentList = self.call("/cgi/department/list", json!({})).await?;
        Ok(list.departments)
    }

    /// One department, with its head (`principalId`).
    pub async fn department(&self, department_id: i64) -> Result<DepartmentInfo, Error> {
        self.call(
            "/cgi/department/detail",
            json!({"departmentId": department_id}),
        )
        .await
    }

    /// One employee by `FSUID_…`, with `mainDepartmentId` and `attachingDepartmentIds`.
    pub async fn user(&self, open_user_id: &str) -> Result<UserInfo, Error> {
        self.call(
            "/cgi/user/get",
            json!({"openUserId": open_user_id, "showDepartmentIdsDetail": true}),
        )
        .await
    }

    /// The employees with this mobile number (none is an empty list): how integrations find
    /// a recipient's `openUserId`.
    ///
    /// ```no_run
    /// # async fn run(client: fxmsg_client::Client) -> Result<(), fxmsg_client::Error> {
    /// let found = client.users_by_mobile("13800001000").await?;
    /// if let Some(user) = found.first() {
    ///     let to = [user.open_user_id.as_str()];
    ///     client.send(&fxmsg_client::SendMessage::text(to, "Your order shipped")).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn users_by_mobile(&self, mobile: &str) -> Result<Vec<UserInfo>, Error> {
        let found: EmployeesByMobile = self
            .call("/cgi/user/getByMobile", json!({"mobile": mobile}))
            .await?;
        Ok(found.emp_list)
    }

    /// Ids and names of a department's employees (with `fetch_child`, of every department
    /// below it too).
    pub async fn department_users_brief(
        &self,
        department_id: i64,
        fetch_child: bool,
    ) -> Result<Vec<UserBrief>, Error> {
        let list: UserSimpleList = self
            .call(
                "/cgi/user/simpleList",
                json!({"departmentId": department_id, "fetchChild": fetch_child}),
            )
            .await?;
        Ok(list.userlist)
    }

    /// A department's employees with every field (with `fetch_child`, of every department
    /// below it too).
    pub async fn department_users(
        &self,
        department_id: i64,
        fetch_child: bool,
    ) -> Result<Vec<UserInfo>, Error> {
        let list: UserList = self
            .call(
                "/cgi/user/list",
                json!({"departmentId": department_id, "fetchChild": fetch_child}),
            )
            .await?;
        Ok(list.user_list)
    }
}

impl AdminClient {
    /// Creates a department (the next free id when `new.id` is `None`).
    pub async fn create_department(
        &self,
        corp_id: &str,
        new: &NewDepartment,
    ) -> Result<Department, Error> {
        let url = self.url(&format!("/corps/{corp_id}/departments"));
        self.send(self.http().post(url).json(new)).await
    }

    /// A corp's departments, `0` (the corp itself) first.
    pub async fn list_departments(&self, corp_id: &str) -> Result<Vec<Department>, Error> {
        let url = self.url(&format!("/corps/{corp_id}/departments"));
        self.send(self.http().get(url)).await
    }

    /// Renames, moves, reorders, stops or restarts a department, or sets its head.
    pub async fn update_department(
        &self,
        corp_id: &str,
        id: i64,
        patch: &DepartmentPatch,
    ) -> Result<Department, Error> {
        let url = self.url(&format!("/corps/{corp_id}/departments/{id}"));
        self.send(self.http().patch(url).json(patch)).await
    }

    /// Creates an employee with any of the address book's fields.
    pub async fn add_employee(&self, corp_id: &str, new: &NewEmployee) -> Result<Employee, Error> {
        let url = self.url(&format!("/corps/{corp_id}/employees"));
        self.send(self.http().post(url).json(new)).await
    }

    /// Changes an employee (`FSUID_…` or employee number): the patch's fields only.
    pub async fn update_employee(
        &self,
        corp_id: &str,
        employee: &str,
        patch: &EmployeePatch,
    ) -> Result<Employee, Error> {
        let url = self.url(&format!("/corps/{corp_id}/employees/{employee}"));
        self.send(self.http().patch(url).json(patch)).await
    }

    /// The corp's whole address book, as [`AdminClient::import_directory`] takes it.
    pub async fn export_directory(&self, corp_id: &str) -> Result<DirectoryFile, Error> {
        let url = self.url(&format!("/corps/{corp_id}/directory"));
        self.send(self.http().get(url)).await
    }

    /// The corp's whole address book as CSV.
    pub async fn export_directory_csv(&self, corp_id: &str) -> Result<String, Error> {
        let url = self.url(&format!("/corps/{corp_id}/directory?format=csv"));
        let response = self.authorized(self.http().get(url))?.send().await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        if status.is_success() {
            return Ok(String::from_utf8_lossy(&bytes).into_owned());
        }
        Self::refusal(status, &bytes)
    }

    /// Imports a directory: departments matched by id, employees by number, all or nothing.
    pub async fn import_directory(
        &self,
        corp_id: &str,
        file: &DirectoryFile,
    ) -> Result<ImportSummary, Error> {
        let url = self.url(&format!("/corps/{corp_id}/directory"));
        self.send(self.http().put(url).json(file)).await
    }

    /// Imports a directory file's text as it is: CSV when `csv`, else JSON. A refusal names
    /// each bad record's line.
    pub async fn import_directory_text(
        &self,
        corp_id: &str,
        text: String,
        csv: bool,
    ) -> Result<ImportSummary, Error> {
        let url = self.url(&format!("/corps/{corp_id}/directory"));
        let kind = if csv { "text/csv" } else { "application/json" };
        self.send(
            self.http()
                .put(url)
                .header(reqwest::header::CONTENT_TYPE, kind)
                .body(text),
        )
        .await
    }
}
