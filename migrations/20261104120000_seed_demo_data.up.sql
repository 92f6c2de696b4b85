-- Demo rows so a fresh database has something to look at. Explicit ids
-- let the down file remove exactly these rows and nothing a user added.
INSERT INTO users (id, email, display_name) VALUES
    (1, 'ada@example.com', 'Ada'),
    (2, 'grace@example.com', 'Grace');

INSERT INTO projects (id, owner_id, name) VALUES
    (1, 1, 'Analytical Engine'),
    (2, 2, 'Compiler');

INSERT INTO tasks (id, project_id, title, status, due_on) VALUES
    (1, 1, 'Write the note on Bernoulli numbers', 'done', '1843-09-01'),
    (2, 1, 'Order more punched cards', 'todo', '2026-12-01'),
    (3, 2, 'Find the moth; it''s in relay #70', 'doing', NULL);
