//! Directory files: a whole address book as JSON (a [`DirectoryFile`]) or as CSV (one record per
//! row, a `type` column saying `department` or `employee`). Parsing keeps each record's line, so
//! an import that refuses a record says where it is.

use fxmsg_api::native::{DirectoryFile, EmployeeStatus, NewDepartment, NewEmployee};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::book::{Problem, Record};

/// The CSV columns, in the order an export writes them.
pub const CSV_COLUMNS: [&str; 18] = [
    "type",
    "id",
    "name",
    "parentId",
    "order",
    "stopped",
    "principalId",
    "userId",
    "mobile",
    "account",
    "nickName",
    "email",
    "gender",
    "position",
    "departmentIds",
    "mainDepartmentId",
    "leaderId",
    "status",
];

/// A parsed file, with the line each record starts on.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The records.
    pub file: DirectoryFile,
    /// `departments[i]` starts on line `department_lines[i]`.
    pub department_lines: Vec<usize>,
    /// `employees[i]` starts on line `employee_lines[i]`.
    pub employee_lines: Vec<usize>,
}

impl Parsed {
    /// The problems as one message, each with its line: `line 7 (employees[2]): mobile: …`.
    pub fn describe(&self, problems: &[Problem]) -> String {
        let lines: Vec<String> = problems
            .iter()
            .map(|p| {
                let line = match p.record {
                    Record::Department(i) => self.department_lines.get(i),
                    Record::Employee(i) => self.employee_lines.get(i),
                };
                match line {
                    Some(line) => format!("line {line} ({}): {}", p.record, p.message),
                    None => format!("{}: {}", p.record, p.message),
                }
            })
            .collect();
        format!(
            "{} refused, nothing was imported: {}",
            plural(problems.len(), "record"),
            lines.join("; ")
        )
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Parses a JSON directory file. A record that is not one (a wrong type, a missing name) is an
/// error naming its line; so is bad JSON.
pub fn parse_json(text: &str) -> Result<Parsed, String> {
    #[derive(Deserialize)]
    struct Raw<'a> {
        #[serde(borrow, default)]
        departments: Vec<&'a RawValue>,
        #[serde(borrow, default)]
        employees: Vec<&'a RawValue>,
    }
    let raw: Raw = serde_json::from_str(text).map_err(|e| format!("not a directory file: {e}"))?;
    let newlines: Vec<usize> = text
        .bytes()
        .enumerate()
        .filter_map(|(at, b)| (b == b'\n').then_some(at))
        .collect();
    let line_of = |value: &RawValue| {
        // Borrowed from `text`, so its start is an offset into it.
        let at = (value.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
        1 + newlines.partition_point(|&n| n < at)
    };
    let mut parsed = Parsed::default();
    let mut errors = Vec::new();
    for (i, value) in raw.departments.iter().enumerate() {
        parsed.department_lines.push(line_of(value));
        match serde_json::from_str::<NewDepartment>(value.get()) {
            Ok(d) => parsed.file.departments.push(d),
            Err(e) => errors.push(format!("line {} (departments[{i}]): {e}", line_of(value))),
        }
    }
    for (i, value) in raw.employees.iter().enumerate() {
        parsed.employee_lines.push(line_of(value));
        match serde_json::from_str::<NewEmployee>(value.get()) {
            Ok(e) => parsed.file.employees.push(e),
            Err(e) => errors.push(format!("line {} (employees[{i}]): {e}", line_of(value))),
        }
    }
    refuse(errors)?;
    Ok(parsed)
}

fn refuse(errors: Vec<String>) -> Result<(), String> {
    if errors.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} refused, nothing was imported: {}",
        plural(errors.len(), "record"),
        errors.join("; ")
    ))
}

/// One CSV row: every column of either kind of record.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    #[serde(rename = "type")]
    kind: Option<String>,
    id: Option<String>,
    name: Option<String>,
    parent_id: Option<String>,
    order: Option<String>,
    stopped: Option<String>,
    principal_id: Option<String>,
    user_id: Option<String>,
    mobile: Option<String>,
    account: Option<String>,
    nick_name: Option<String>,
    email: Option<String>,
    gender: Option<String>,
    position: Option<String>,
    department_ids: Option<String>,
    main_department_id: Option<String>,
    leader_id: Option<String>,
    status: Option<String>,
}

fn number(field: &str, value: &Option<String>) -> Result<Option<i64>, String> {
    value
        .as_deref()
        .map(|v| {
            v.trim()
                .parse::<i64>()
                .map_err(|_| format!("{field}: {v:?} is not an integer"))
        })
        .transpose()
}

fn flag(field: &str, value: &Option<String>) -> Result<bool, String> {
    match value.as_deref().map(str::trim) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(format!("{field}: must be true or false, got {v:?}")),
    }
}

impl Row {
    fn department(self) -> Result<NewDepartment, String> {
        Ok(NewDepartment {
            id: number("id", &self.id)?,
            name: self.name.unwrap_or_default(),
            parent_id: number("parentId", &self.parent_id)?.unwrap_or(0),
            order: number("order", &self.order)?,
            stopped: flag("stopped", &self.stopped)?,
            principal_id: self.principal_id,
        })
    }

    fn employee(self) -> Result<NewEmployee, String> {
        let department_ids = match self.department_ids.as_deref() {
            None => Vec::new(),
            Some(list) => list
                .split(';')
                .filter(|d| !d.trim().is_empty())
                .map(|d| {
                    d.trim()
                        .parse::<i64>()
                        .map_err(|_| format!("departmentIds: {d:?} is not an integer"))
                })
                .collect::<Result<_, _>>()?,
        };
        let status = match self.status.as_deref().map(str::trim) {
            None => None,
            Some("active") => Some(EmployeeStatus::Active),
            Some("stopped") => Some(EmployeeStatus::Stopped),
            Some(other) => return Err(format!("status: must be active or stopped, got {other:?}")),
        };
        Ok(NewEmployee {
            name: self.name.unwrap_or_default(),
            user_id: self.user_id,
            mobile: self.mobile,
            account: self.account,
            nick_name: self.nick_name,
            email: self.email,
            gender: self.gender,
            position: self.position,
            department_ids,
            main_department_id: number("mainDepartmentId", &self.main_department_id)?,
            leader_id: self.leader_id,
            status,
        })
    }
}

/// Parses a CSV directory file: a header row naming the columns (any of [`CSV_COLUMNS`], in any
/// order), then one record per row; `departmentIds` separated by `;`.
pub fn parse_csv(text: &str) -> Result<Parsed, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("line 1: not a CSV header ({e})"))?
        .clone();
    if let Some(unknown) = headers.iter().find(|h| !CSV_COLUMNS.contains(h)) {
        return Err(format!(
            "line 1: unknown column {unknown:?}; the columns are {}",
            CSV_COLUMNS.join(",")
        ));
    }
    if !headers.iter().any(|h| h == "type") {
        return Err("line 1: the header has no \"type\" column".into());
    }
    let mut parsed = Parsed::default();
    let mut errors = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line()) as usize;
        let row: Row = match record.deserialize(Some(&headers)) {
            Ok(row) => row,
            Err(e) => {
                errors.push(format!("line {line}: {e}"));
                continue;
            }
        };
        match row.kind.as_deref() {
            Some("department") => match row.department() {
                Ok(d) => {
                    parsed.file.departments.push(d);
                    parsed.department_lines.push(line);
                }
                Err(e) => errors.push(format!("line {line}: {e}")),
            },
            Some("employee") => match row.employee() {
                Ok(e) => {
                    parsed.file.employees.push(e);
                    parsed.employee_lines.push(line);
                }
                Err(e) => errors.push(format!("line {line}: {e}")),
            },
            other => errors.push(format!(
                "line {line}: type: must be department or employee, got {:?}",
                other.unwrap_or("")
            )),
        }
    }
    refuse(errors)?;
    Ok(parsed)
}

/// Writes `file` as CSV, with every column of [`CSV_COLUMNS`].
pub fn to_csv(file: &DirectoryFile) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let text = |v: &Option<i64>| v.map(|v| v.to_string());
    let rows = file
        .departments
        .iter()
        .map(|d| Row {
            kind: Some("department".into()),
            id: text(&d.id),
            name: Some(d.name.clone()),
            parent_id: Some(d.parent_id.to_string()),
            order: text(&d.order),
            stopped: Some(d.stopped.to_string()),
            principal_id: d.principal_id.clone(),
            ..Row::default()
        })
        .chain(file.employees.iter().map(|e| {
            Row {
                kind: Some("employee".into()),
                name: Some(e.name.clone()),
                user_id: e.user_id.clone(),
                mobile: e.mobile.clone(),
                account: e.account.clone(),
                nick_name: e.nick_name.clone(),
                email: e.email.clone(),
                gender: e.gender.clone(),
                position: e.position.clone(),
                department_ids: Some(
                    e.department_ids
                        .iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join(";"),
                ),
                main_department_id: text(&e.main_department_id),
                leader_id: e.leader_id.clone(),
                status: e.status.map(|s| s.as_str().to_owned()),
                ..Row::default()
            }
        }));
    for row in rows {
        writer.serialize(row).expect("a row serializes into memory");
    }
    String::from_utf8(writer.into_inner().expect("memory does not fail"))
        .expect("CSV of strings is UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r#"{
  "departments": [
    {"id": 1, "name": "Sales"},
    {"id": "two", "name": "Bad"}
  ],
  "employees": [
    {"name": "Ada", "userId": "1000"}
  ]
}"#;

    #[test]
    fn a_json_record_that_is_not_one_is_named_by_its_line() {
        let error = parse_json(JSON).unwrap_err();
        assert!(error.starts_with("1 record refused"), "{error}");
        assert!(error.contains("line 4 (departments[1])"), "{error}");
        let fixed = JSON.replace("\"two\"", "2");
        let parsed = parse_json(&fixed).unwrap();
        assert_eq!(parsed.department_lines, [3, 4]);
        assert_eq!(parsed.employee_lines, [7]);
        let problems = [Problem {
            record: Record::Employee(0),
            message: "mobile: bad".into(),
        }];
        assert!(parsed
            .describe(&problems)
            .contains("line 7 (employees[0]): mobile: bad"));
    }

    #[test]
    fn csv_round_trips_and_names_bad_rows() {
        let file = DirectoryFile {
            departments: vec![NewDepartment {
                id: Some(1),
                name: "Sales, East".into(),
                parent_id: 0,
                order: Some(1),
                stopped: true,
                principal_id: Some("1000".into()),
            }],
            employees: vec![NewEmployee {
                name: "Ada \"A\" Li".into(),
                user_id: Some("1000".into()),
                mobile: Some("13800001000".into()),
                department_ids: vec![1, 0],
                main_department_id: Some(1),
                status: Some(EmployeeStatus::Stopped),
                ..NewEmployee::default()
            }],
        };
        let csv = to_csv(&file);
        assert!(csv.starts_with(&CSV_COLUMNS.join(",")), "{csv}");
        assert_eq!(parse_csv(&csv).unwrap().file, file);

        let bad = "type,id,name\ndepartment,1,Sales\nteam,2,X\ndepartment,x,Y\n";
        let error = parse_csv(bad).unwrap_err();
        assert!(error.contains("line 3: type"), "{error}");
        assert!(error.contains("line 4: id"), "{error}");
        let unknown = parse_csv("type,colour\n").unwrap_err();
        assert!(unknown.contains("unknown column \"colour\""), "{unknown}");
    }
}
