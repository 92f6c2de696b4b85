-- What the dashboard shows: open tasks with their project and owner,
-- overdue first.
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
