-- Full-text search over posts with FTS5. posts_fts is an external-content
-- index: it stores no copy of the text, and the three triggers keep it in
-- step with posts (the pattern from https://www.sqlite.org/fts5.html#external_content_tables).
CREATE VIRTUAL TABLE posts_fts USING fts5(
    title,
    body,
    content = 'posts',
    content_rowid = 'id',
    tokenize = 'porter unicode61'
);

CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
    INSERT INTO posts_fts (rowid, title, body) VALUES (NEW.id, NEW.title, NEW.body);
END;

CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, title, body)
    VALUES ('delete', OLD.id, OLD.title, OLD.body);
END;

CREATE TRIGGER posts_fts_update AFTER UPDATE OF title, body ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, title, body)
    VALUES ('delete', OLD.id, OLD.title, OLD.body);
    INSERT INTO posts_fts (rowid, title, body) VALUES (NEW.id, NEW.title, NEW.body);
END;

-- Index the posts that existed before this migration.
INSERT INTO posts_fts (posts_fts) VALUES ('rebuild');
