//! A corp's address book in memory, and the one way it changes: [`Book::apply`] takes whole
//! records (a [`DirectoryFile`]), checks them against each other and against what is there, and
//! says what to write. Creating a department or an employee, a `PATCH`, an import, a sandbox and
//! the demo all go through it, so they accept and refuse exactly the same things.

use std::collections::{BTreeMap, HashMap, HashSet};

use fxmsg_api::native::{
    Department, DirectoryFile, Employee, EmployeeStatus, ImportCounts, ImportSummary,
    NewDepartment, NewEmployee,
};
use fxmsg_store::Store;

use super::{check_mobile, check_name, check_user_id, next_number};
use crate::error::NativeError;
use crate::secrets::new_open_user_id;

/// Largest department id (and order): the platform's clients read them as 32-bit integers.
pub const MAX_DEPARTMENT_ID: i64 = i32::MAX as i64;
/// Most departments one employee is in.
pub const MAX_EMPLOYEE_DEPARTMENTS: usize = 20;
/// Longest account, in characters.
const MAX_ACCOUNT_CHARS: usize = 64;
/// Longest e-mail address (RFC 5321's path limit).
const MAX_EMAIL_CHARS: usize = 254;
/// Longest nickname or position, in characters.
const MAX_TEXT_CHARS: usize = 100;

/// Which record of a [`DirectoryFile`] a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Record {
    /// `departments[i]`.
    Department(usize),
    /// `employees[i]`.
    Employee(usize),
}

impl std::fmt::Display for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Record::Department(i) => write!(f, "departments[{i}]"),
            Record::Employee(i) => write!(f, "employees[{i}]"),
        }
    }
}

/// One thing wrong with one record: `message` starts with the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The record.
    pub record: Record,
    /// What is wrong, e.g. `parentId: no department 7`.
    pub message: String,
}

/// What [`Book::apply`] decided: the records to write, and how many of each kind changed.
#[derive(Debug, Default)]
pub struct Plan {
    /// Departments to write (new or changed).
    pub departments: Vec<Department>,
    /// Employees to write (new or changed).
    pub employees: Vec<Employee>,
    /// Counts.
    pub summary: ImportSummary,
    /// The file's records as they are after the plan, in the file's order.
    pub placed_departments: Vec<Department>,
    /// Likewise for employees.
    pub placed_employees: Vec<Employee>,
}

/// A corp's departments and employees.
#[derive(Debug, Clone)]
pub struct Book {
    corp_id: String,
    departments: BTreeMap<i64, Department>,
    employees: Vec<Employee>,
}

impl Book {
    /// An empty book, for a corp being created.
    pub fn empty(corp_id: &str) -> Book {
        Book {
            corp_id: corp_id.into(),
            departments: BTreeMap::new(),
            employees: Vec::new(),
        }
    }

    /// The corp's book as stored.
    pub async fn load(store: &dyn Store, corp_id: &str) -> Result<Book, NativeError> {
        let departments = store.list_departments(corp_id).await?;
        Ok(Book {
            corp_id: corp_id.into(),
            departments: departments.into_iter().map(|d| (d.id, d)).collect(),
            employees: store.list_employees(corp_id).await?,
        })
    }

    /// The department with this id, if stored.
    pub fn department(&self, id: i64) -> Option<&Department> {
        self.departments.get(&id)
    }

    /// The employees, by employee number.
    pub fn employees(&self) -> &[Employee] {
        &self.employees
    }

    /// The book as a file: ids stay, leaders and heads are named by employee number.
    pub fn export(&self) -> DirectoryFile {
        let numbers = self.numbers();
        DirectoryFile {
            departments: self
                .departments
                .values()
                .map(|d| department_record(d, &numbers))
                .collect(),
            employees: self
                .employees
                .iter()
                .map(|e| employee_record(e, &numbers))
                .collect(),
        }
    }

    /// `department` as a record [`Book::apply`] takes.
    pub fn new_department(&self, d: &Department) -> NewDepartment {
        department_record(d, &self.numbers())
    }

    /// `employee` as a record [`Book::apply`] takes.
    pub fn new_employee(&self, e: &Employee) -> NewEmployee {
        employee_record(e, &self.numbers())
    }

    /// Employee numbers by `FSUID_…`.
    fn numbers(&self) -> HashMap<&str, &str> {
        self.employees
            .iter()
            .map(|e| (e.open_user_id.as_str(), e.user_id.as_str()))
            .collect()
    }

    /// Checks `file` against itself and the book and plans the writes. Departments are matched
    /// by id, employees by number; a record without one is new (an import, `keyed`, refuses
    /// that, so that running it twice changes nothing). Every problem is reported, in file order;
    /// with any, nothing is planned.
    pub fn apply(
        &mut self,
        file: &DirectoryFile,
        keyed: bool,
        now: i64,
    ) -> Result<Plan, Vec<Problem>> {
        let before = self.clone();
        let mut problems = Vec::new();
        let placed_departments = self.place_departments(file, keyed, now, &mut problems);
        let placed_employees = self.place_employees(file, keyed, now, &mut problems);
        self.link_people(file, &placed_departments, &placed_employees, &mut problems);
        if !problems.is_empty() {
            problems.sort_by_key(|p| p.record);
            *self = before;
            return Err(problems);
        }
        let placed_departments: Vec<Department> = placed_departments
            .iter()
            .flatten()
            .map(|id| self.departments[id].clone())
            .collect();
        let placed_employees: Vec<Employee> = placed_employees
            .iter()
            .flatten()
            .map(|&i| self.employees[i].clone())
            .collect();
        let mut plan = Plan::default();
        for d in &placed_departments {
            let counts = &mut plan.summary.departments;
            match before.departments.get(&d.id) {
                Some(old) if old == d => counts.unchanged += 1,
                old => {
                    count(counts, old.is_some());
                    plan.departments.push(d.clone());
                }
            }
        }
        let before_employees: HashMap<&str, &Employee> = before
            .employees
            .iter()
            .map(|e| (e.open_user_id.as_str(), e))
            .collect();
        for e in &placed_employees {
            let old = before_employees.get(e.open_user_id.as_str()).copied();
            let counts = &mut plan.summary.employees;
            match old {
                Some(old) if old == e => counts.unchanged += 1,
                old => {
                    count(counts, old.is_some());
                    plan.employees.push(e.clone());
                }
            }
        }
        self.employees
            .sort_by(|a, b| (a.user_id.len(), &a.user_id).cmp(&(b.user_id.len(), &b.user_id)));
        plan.placed_departments = placed_departments;
        plan.placed_employees = placed_employees;
        Ok(plan)
    }

    /// Puts the file's departments in the book (their heads come later); returns each record's
    /// id, `None` where it was refused.
    fn place_departments(
        &mut self,
        file: &DirectoryFile,
        keyed: bool,
        now: i64,
        problems: &mut Vec<Problem>,
    ) -> Vec<Option<i64>> {
        let mut seen = HashSet::new();
        let mut placed = vec![None; file.departments.len()];
        let mut add = |record, message: String| problems.push(Problem { record, message });
        for (i, new) in file.departments.iter().enumerate() {
            let record = Record::Department(i);
            let id = match new.id {
                Some(id) if !(1..=MAX_DEPARTMENT_ID).contains(&id) => {
                    add(
                        record,
                        format!("id: must be 1..={MAX_DEPARTMENT_ID} (0 is the corp itself)"),
                    );
                    continue;
                }
                Some(id) => id,
                None if keyed => {
                    add(record, "id: is required in an import".into());
                    continue;
                }
                None => match self.departments.keys().next_back().map_or(1, |id| id + 1) {
                    id if id > MAX_DEPARTMENT_ID => {
                        add(
                            record,
                            format!("id: {MAX_DEPARTMENT_ID} is taken; give a free id"),
                        );
                        continue;
                    }
                    id => id,
                },
            };
            if !seen.insert(id) {
                add(record, format!("id: department {id} is given twice"));
                continue;
            }
            let name = match check_name(&new.name) {
                Ok(name) => name,
                Err(e) => {
                    add(record, e.message);
                    continue;
                }
            };
            if let Some(order) = new.order.filter(|o| !(1..=MAX_DEPARTMENT_ID).contains(o)) {
                add(
                    record,
                    format!("order: must be 1..={MAX_DEPARTMENT_ID}, got {order}"),
                );
                continue;
            }
            let old = self.departments.get(&id);
            let department = Department {
                id,
                corp_id: self.corp_id.clone(),
                name,
                parent_id: new.parent_id,
                order: new.order.or(old.map(|d| d.order)).unwrap_or(0),
                stopped: new.stopped,
                principal_id: old.and_then(|d| d.principal_id.clone()),
                created_at: old.map_or(now, |d| d.created_at),
            };
            self.departments.insert(id, department);
            placed[i] = Some(id);
        }
        // Parents, once every department of the file is in: a file may list a child first.
        for (i, id) in placed.iter().enumerate() {
            let Some(id) = id else { continue };
            let record = Record::Department(i);
            let parent = self.departments[id].parent_id;
            if parent != 0 && !self.departments.contains_key(&parent) {
                add(record, format!("parentId: no department {parent}"));
            } else if self.is_below(parent, *id) {
                add(
                    record,
                    format!("parentId: department {parent} is {id} itself or below it"),
                );
            }
        }
        // A new department without an order goes after its siblings.
        let mut last: HashMap<i64, i64> = HashMap::new();
        for d in self.departments.values() {
            let order = last.entry(d.parent_id).or_default();
            *order = (*order).max(d.order);
        }
        for id in placed.iter().flatten() {
            let department = self.departments.get_mut(id).expect("placed");
            if department.order == 0 {
                let order = last.entry(department.parent_id).or_default();
                *order = (*order + 1).min(MAX_DEPARTMENT_ID);
                department.order = *order;
            }
        }
        placed
    }

    /// Whether `department` is `ancestor` or below it (following parents, at most the tree's
    /// size: a cycle elsewhere ends the walk too).
    fn is_below(&self, mut department: i64, ancestor: i64) -> bool {
        for _ in 0..=self.departments.len() {
            if department == ancestor {
                return true;
            }
            match self.departments.get(&department) {
                Some(d) if department != 0 => department = d.parent_id,
                _ => return false,
            }
        }
        true
    }

    /// Puts the file's employees in the book (their leaders come later); returns each record's
    /// index in the book, `None` where it was refused.
    fn place_employees(
        &mut self,
        file: &DirectoryFile,
        keyed: bool,
        now: i64,
        problems: &mut Vec<Problem>,
    ) -> Vec<Option<usize>> {
        let given: Vec<&str> = file
            .employees
            .iter()
            .filter_map(|e| e.user_id.as_deref())
            .collect();
        let mut next = next_number(
            self.employees
                .iter()
                .map(|e| e.user_id.as_str())
                .chain(given.iter().copied()),
        );
        let mut seen = HashSet::new();
        let mut placed = vec![None; file.employees.len()];
        let mut by_number: HashMap<String, usize> = self
            .employees
            .iter()
            .enumerate()
            .map(|(at, e)| (e.user_id.clone(), at))
            .collect();
        for (i, new) in file.employees.iter().enumerate() {
            let record = Record::Employee(i);
            let mut add = |message: String| problems.push(Problem { record, message });
            let user_id = match new.user_id.as_deref() {
                Some(id) => match check_user_id(id) {
                    Ok(id) => id,
                    Err(e) => {
                        add(e.message);
                        continue;
                    }
                },
                None if keyed => {
                    add("userId: is required in an import".into());
                    continue;
                }
                None => {
                    next += 1;
                    (next - 1).to_string()
                }
            };
            if !seen.insert(user_id.clone()) {
                add(format!("userId: employee number {user_id} is given twice"));
                continue;
            }
            let fields = match self.employee_fields(new) {
                Ok(fields) => fields,
                Err(message) => {
                    add(message);
                    continue;
                }
            };
            let at = by_number.get(&user_id).copied();
            let old = at.map(|at| &self.employees[at]);
            let employee = Employee {
                open_user_id: old.map_or_else(new_open_user_id, |e| e.open_user_id.clone()),
                user_id,
                corp_id: self.corp_id.clone(),
                leader_id: old.and_then(|e| e.leader_id.clone()),
                created_at: old.map_or(now, |e| e.created_at),
                ..fields
            };
            placed[i] = Some(match at {
                Some(at) => {
                    self.employees[at] = employee;
                    at
                }
                None => {
                    by_number.insert(employee.user_id.clone(), self.employees.len());
                    self.employees.push(employee);
                    self.employees.len() - 1
                }
            });
        }
        placed
    }

    /// The fields of `new` that need no other employee: checked, departments resolved.
    fn employee_fields(&self, new: &NewEmployee) -> Result<Employee, String> {
        let text = |field: &str, value: &Option<String>, max: usize| match value.as_deref() {
            None => Ok(None),
            Some(v) => {
                let v = v.trim();
                if v.is_empty() || v.chars().count() > max {
                    Err(format!("{field}: must be 1..{max} characters"))
                } else {
                    Ok(Some(v.to_owned()))
                }
            }
        };
        let email = text("email", &new.email, MAX_EMAIL_CHARS)?;
        if let Some(email) = &email {
            let valid = email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && !domain.is_empty() && !email.contains(char::is_whitespace)
            });
            if !valid {
                return Err(format!("email: {email:?} is not an e-mail address"));
            }
        }
        let gender = match new.gender.as_deref().map(str::trim) {
            None => None,
            Some(g @ ("M" | "F")) => Some(g.to_owned()),
            Some(other) => return Err(format!("gender: must be \"M\" or \"F\", got {other:?}")),
        };
        let mut departments: Vec<i64> = new.main_department_id.into_iter().collect();
        for d in &new.department_ids {
            if !departments.contains(d) {
                departments.push(*d);
            }
        }
        if departments.len() > MAX_EMPLOYEE_DEPARTMENTS {
            return Err(format!(
                "departmentIds: at most {MAX_EMPLOYEE_DEPARTMENTS}, got {}",
                departments.len()
            ));
        }
        if let Some(missing) = departments
            .iter()
            .find(|d| **d != 0 && !self.departments.contains_key(d))
        {
            return Err(format!("departmentIds: no department {missing}"));
        }
        if departments.is_empty() {
            departments.push(0);
        }
        Ok(Employee {
            name: check_name(&new.name).map_err(|e| e.message)?,
            status: new.status.unwrap_or(EmployeeStatus::Active),
            mobile: new
                .mobile
                .as_deref()
                .map(check_mobile)
                .transpose()
                .map_err(|e| e.message)?,
            account: text("account", &new.account, MAX_ACCOUNT_CHARS)?,
            nick_name: text("nickName", &new.nick_name, MAX_TEXT_CHARS)?,
            email,
            gender,
            position: text("position", &new.position, MAX_TEXT_CHARS)?,
            main_department_id: departments[0],
            department_ids: departments,
            ..Employee::default()
        })
    }

    /// Resolves leaders and heads, now that every employee of the file is in the book.
    fn link_people(
        &mut self,
        file: &DirectoryFile,
        departments: &[Option<i64>],
        employees: &[Option<usize>],
        problems: &mut Vec<Problem>,
    ) {
        let ids: HashMap<&str, String> = self
            .employees
            .iter()
            .flat_map(|e| {
                [
                    (e.user_id.as_str(), e.open_user_id.clone()),
                    (e.open_user_id.as_str(), e.open_user_id.clone()),
                ]
            })
            .collect();
        let resolve = |field: &str, given: &Option<String>| match given.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(id) => ids
                .get(id)
                .cloned()
                .map(Some)
                .ok_or_else(|| format!("{field}: no employee {id} in this corp")),
        };
        let mut leaders = Vec::with_capacity(employees.len());
        for (new, (i, at)) in file.employees.iter().zip(employees.iter().enumerate()) {
            let Some(at) = *at else { continue };
            match resolve("leaderId", &new.leader_id) {
                Ok(Some(leader)) if leader == self.employees[at].open_user_id => {
                    problems.push(Problem {
                        record: Record::Employee(i),
                        message: "leaderId: an employee cannot lead themselves".into(),
                    })
                }
                Ok(leader) => leaders.push((at, leader)),
                Err(message) => problems.push(Problem {
                    record: Record::Employee(i),
                    message,
                }),
            }
        }
        let mut heads = Vec::with_capacity(departments.len());
        for (new, (i, id)) in file.departments.iter().zip(departments.iter().enumerate()) {
            let Some(id) = *id else { continue };
            match resolve("principalId", &new.principal_id) {
                Ok(head) => heads.push((id, head)),
                Err(message) => problems.push(Problem {
                    record: Record::Department(i),
                    message,
                }),
            }
        }
        for (at, leader) in leaders {
            self.employees[at].leader_id = leader;
        }
        for (id, head) in heads {
            if let Some(d) = self.departments.get_mut(&id) {
                d.principal_id = head;
            }
        }
    }
}

/// An `FSUID_…` as the employee number it belongs to (as itself if it belongs to nobody).
fn number_of(numbers: &HashMap<&str, &str>, open_user_id: &str) -> String {
    numbers
        .get(open_user_id)
        .map_or(open_user_id, |n| n)
        .to_owned()
}

fn department_record(d: &Department, numbers: &HashMap<&str, &str>) -> NewDepartment {
    NewDepartment {
        id: Some(d.id),
        name: d.name.clone(),
        parent_id: d.parent_id,
        order: Some(d.order),
        stopped: d.stopped,
        principal_id: d.principal_id.as_deref().map(|p| number_of(numbers, p)),
    }
}

fn employee_record(e: &Employee, numbers: &HashMap<&str, &str>) -> NewEmployee {
    NewEmployee {
        name: e.name.clone(),
        user_id: Some(e.user_id.clone()),
        mobile: e.mobile.clone(),
        account: e.account.clone(),
        nick_name: e.nick_name.clone(),
        email: e.email.clone(),
        gender: e.gender.clone(),
        position: e.position.clone(),
        department_ids: e.department_ids.clone(),
        main_department_id: Some(e.main_department_id),
        leader_id: e.leader_id.as_deref().map(|l| number_of(numbers, l)),
        status: Some(e.status),
    }
}

fn count(counts: &mut ImportCounts, existed: bool) {
    if existed {
        counts.updated += 1;
    } else {
        counts.created += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn department(id: i64, parent: i64) -> NewDepartment {
        NewDepartment {
            id: Some(id),
            name: format!("d{id}"),
            parent_id: parent,
            ..NewDepartment::default()
        }
    }

    fn file(departments: Vec<NewDepartment>, employees: Vec<NewEmployee>) -> DirectoryFile {
        DirectoryFile {
            departments,
            employees,
        }
    }

    #[test]
    fn a_cycle_anywhere_in_a_file_is_refused_and_the_book_is_unchanged() {
        let mut book = Book::empty("C");
        book.apply(
            &file(vec![department(1, 0), department(2, 1)], vec![]),
            true,
            0,
        )
        .unwrap();
        let before = book.export();
        // 1 under 2 while 2 is under 1; and 3 under itself.
        let problems = book
            .apply(
                &file(vec![department(1, 2), department(3, 3)], vec![]),
                true,
                0,
            )
            .unwrap_err();
        let records: Vec<_> = problems.iter().map(|p| p.record).collect();
        assert_eq!(records, [Record::Department(0), Record::Department(1)]);
        assert_eq!(book.export(), before);
    }

    #[test]
    fn leaders_may_come_later_in_the_file_and_orders_follow_siblings() {
        let mut book = Book::empty("C");
        let boss = NewEmployee {
            name: "Boss".into(),
            user_id: Some("2".into()),
            ..NewEmployee::default()
        };
        let worker = NewEmployee {
            name: "Worker".into(),
            user_id: Some("1".into()),
            leader_id: Some("2".into()),
            department_ids: vec![2, 1],
            ..NewEmployee::default()
        };
        let plan = book
            .apply(
                &file(vec![department(1, 0), department(2, 0)], vec![worker, boss]),
                true,
                5,
            )
            .unwrap();
        let orders: Vec<i64> = plan.placed_departments.iter().map(|d| d.order).collect();
        assert_eq!(orders, [1, 2]);
        let worker = &plan.placed_employees[0];
        assert_eq!(
            worker.leader_id.as_ref(),
            Some(&plan.placed_employees[1].open_user_id)
        );
        assert_eq!(
            (worker.main_department_id, worker.department_ids.clone()),
            (2, vec![2, 1])
        );
        assert_eq!(plan.summary.employees.created, 2);
        // Numbers order the book: "1" before "2", whatever the file's order.
        assert_eq!(book.employees()[0].user_id, "1");
        // The same file again: nothing to write.
        let again = book.export();
        let plan = book.apply(&again, true, 9).unwrap();
        assert!(plan.departments.is_empty() && plan.employees.is_empty());
        assert_eq!(plan.summary.employees.unchanged, 2);
    }

    #[test]
    fn generated_ids_and_numbers_follow_the_highest() {
        let mut book = Book::empty("C");
        book.apply(&file(vec![department(7, 0)], vec![]), true, 0)
            .unwrap();
        let unkeyed = file(
            vec![NewDepartment {
                name: "next".into(),
                ..NewDepartment::default()
            }],
            vec![NewEmployee {
                name: "n".into(),
                ..NewEmployee::default()
            }],
        );
        let plan = book.apply(&unkeyed, false, 0).unwrap();
        assert_eq!(plan.placed_departments[0].id, 8);
        assert_eq!(plan.placed_employees[0].user_id, "1000");
        assert_eq!(plan.placed_employees[0].department_ids, [0]);
        assert!(
            book.apply(&unkeyed, true, 0).is_err(),
            "an import needs keys"
        );
        book.apply(
            &file(vec![department(MAX_DEPARTMENT_ID, 0)], vec![]),
            true,
            0,
        )
        .unwrap();
        let full = book.apply(&unkeyed, false, 0).unwrap_err();
        assert!(full[0].message.contains("give a free id"), "{full:?}");
    }
}
