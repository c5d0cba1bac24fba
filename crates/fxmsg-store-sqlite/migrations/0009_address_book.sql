-- The address book: departments, and the fields the platform's /cgi/user/* return. Department 0
-- is the corp itself and has no row; an employee in no department is in 0.
CREATE TABLE departments (
    corp_id       TEXT NOT NULL REFERENCES corps(corp_id),
    department_id INTEGER NOT NULL CHECK (department_id > 0),
    name          TEXT NOT NULL,
    parent_id     INTEGER NOT NULL CHECK (parent_id >= 0),
    ord           INTEGER NOT NULL,
    stopped       INTEGER NOT NULL,
    principal_id  TEXT,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (corp_id, department_id)
) STRICT, WITHOUT ROWID;

ALTER TABLE employees ADD COLUMN account TEXT;
ALTER TABLE employees ADD COLUMN nick_name TEXT;
ALTER TABLE employees ADD COLUMN email TEXT;
ALTER TABLE employees ADD COLUMN gender TEXT;
ALTER TABLE employees ADD COLUMN position TEXT;
ALTER TABLE employees ADD COLUMN leader_id TEXT;
ALTER TABLE employees ADD COLUMN main_department_id INTEGER NOT NULL DEFAULT 0;
-- Every department of the employee as a JSON array, the main one first.
ALTER TABLE employees ADD COLUMN department_ids TEXT NOT NULL DEFAULT '[0]';
-- /cgi/user/getByMobile.
CREATE INDEX employees_by_mobile ON employees(corp_id, mobile);
