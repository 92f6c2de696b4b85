-- Deleting the seed tasks deletes their audit rows (ON DELETE CASCADE needs
-- foreign keys on, so they are removed explicitly as well).
DELETE FROM task_events WHERE task_id IN (1, 2, 3);
DELETE FROM tasks WHERE id IN (1, 2, 3);
DELETE FROM projects WHERE id IN (1, 2);
DELETE FROM users WHERE id IN (1, 2);
