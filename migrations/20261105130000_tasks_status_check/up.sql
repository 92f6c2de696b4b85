-- migrator: foreign-keys-off
--
-- Tasks get CHECK constraints and a priority. ALTER TABLE cannot add a
-- CHECK constraint, so this is SQLite's 12-step table rebuild
-- (https://www.sqlite.org/lang_altertable.html#otheralter): create the new
-- table, copy, drop the old one, rename the new one, recreate indexes,
-- triggers and views.
--
-- The directive turns foreign keys off before the transaction opens (inside
-- a transaction PRAGMA foreign_keys is ignored). With them on, DROP TABLE
-- tasks would cascade and delete every row of task_events. migrator runs
-- PRAGMA foreign_key_check before COMMIT and rolls back on any violation.

-- The view reads tasks; RENAME below refuses while a view names a table
-- that does not exist, so it is dropped first and recreated at the end.
DROP VIEW open_tasks;

CREATE TABLE tasks_new (
    id         INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    title      TEXT NOT NULL CHECK (length(trim(title)) > 0),
    status     TEXT NOT NULL DEFAULT 'todo' CHECK (status IN ('todo', 'doing', 'done')),
    priority   INTEGER NOT NULL DEFAULT 2 CHECK (priority BETWEEN 1 AND 3),
    due_on     TEXT CHECK (due_on IS NULL OR date(due_on) IS NOT NULL),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

INSERT INTO tasks_new (id, project_id, title, status, due_on, created_at, updated_at)
SELECT id, project_id, title, status, due_on, created_at, updated_at
  FROM tasks;

-- Drops the old table's indexes and triggers with it.
DROP TABLE tasks;

ALTER TABLE tasks_new RENAME TO tasks;

CREATE INDEX tasks_project_status ON tasks (project_id, status);
CREATE INDEX tasks_due_on ON tasks (due_on) WHERE due_on IS NOT NULL;
CREATE INDEX tasks_open_priority ON tasks (priority) WHERE status <> 'done';

CREATE TRIGGER tasks_audit_insert
AFTER INSERT ON tasks
BEGIN
    INSERT INTO task_events (task_id, event, detail) VALUES (NEW.id, 'created', NEW.title);
END;

CREATE TRIGGER tasks_audit_status
AFTER UPDATE OF status ON tasks
WHEN NEW.status IS NOT OLD.status
BEGIN
    INSERT INTO task_events (task_id, event, detail)
    VALUES (NEW.id, 'status', OLD.status || ' -> ' || NEW.status);
    UPDATE tasks
       SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
     WHERE id = NEW.id;
END;

CREATE VIEW open_tasks AS
SELECT t.id,
       t.title,
       t.status,
       t.priority,
       t.due_on,
       p.name  AS project,
       u.email AS owner_email,
       CASE WHEN t.due_on < date('now') THEN 1 ELSE 0 END AS overdue
  FROM tasks t
  JOIN projects p ON p.id = t.project_id
  JOIN users u ON u.id = p.owner_id
 WHERE t.status <> 'done';
