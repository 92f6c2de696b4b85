-- Tasks, and an audit trail of what happened to each one. The triggers
-- write the trail, so every client gets it, including a DBA at the sqlite3
-- prompt.
CREATE TABLE tasks (
    id         INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    title      TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'todo',
    due_on     TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE INDEX tasks_project_status ON tasks (project_id, status);
CREATE INDEX tasks_due_on ON tasks (due_on) WHERE due_on IS NOT NULL;

CREATE TABLE task_events (
    id      INTEGER PRIMARY KEY,
    task_id INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    event   TEXT NOT NULL,
    detail  TEXT,
    at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE INDEX task_events_task ON task_events (task_id, at);

CREATE TRIGGER tasks_audit_insert
AFTER INSERT ON tasks
BEGIN
    INSERT INTO task_events (task_id, event, detail) VALUES (NEW.id, 'created', NEW.title);
END;

-- A ';' inside a trigger body is not the end of the statement: SQLite's own
-- tokenizer decides where CREATE TRIGGER ... END; stops.
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
