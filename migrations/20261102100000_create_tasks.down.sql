DROP TRIGGER tasks_audit_status;
DROP TRIGGER tasks_audit_insert;
DROP INDEX task_events_task;
DROP TABLE task_events;
DROP INDEX tasks_due_on;
DROP INDEX tasks_project_status;
DROP TABLE tasks;
