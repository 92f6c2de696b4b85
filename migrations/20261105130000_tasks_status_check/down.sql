-- migrator: foreign-keys-off
--
-- Back to the table as 20261102100000_create_tasks created it, word for
-- word. A rename would store the definition as CREATE TABLE "tasks" (...),
-- so instead the rows are parked in a scratch table, tasks is recreated
-- from the original text and the rows are copied back. The priority column
-- and its values are lost, as they did not exist before.

DROP VIEW open_tasks;

CREATE TABLE tasks_parked AS
SELECT id, project_id, title, status, due_on, created_at, updated_at
  FROM tasks;

DROP TABLE tasks;

CREATE TABLE tasks (
    id         INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    title      TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'todo',
    due_on     TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

INSERT INTO tasks (id, project_id, title, status, due_on, created_at, updated_at)
SELECT id, project_id, title, status, due_on, created_at, updated_at
  FROM tasks_parked;

DROP TABLE tasks_parked;

CREATE INDEX tasks_project_status ON tasks (project_id, status);
CREATE INDEX tasks_due_on ON tasks (due_on) WHERE due_on IS NOT NULL;

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
       t.due_on,
       p.name  AS project,
       u.email AS owner_email,
       CASE WHEN t.due_on < date('now') THEN 1 ELSE 0 END AS overdue
  FROM tasks t
  JOIN projects p ON p.id = t.project_id
  JOIN users u ON u.id = p.owner_id
 WHERE t.status <> 'done';
