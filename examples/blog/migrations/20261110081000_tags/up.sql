-- Tags; "order" is a keyword, so the column that sorts tags in menus is
-- quoted wherever it appears.
CREATE TABLE tags (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE COLLATE NOCASE,
    "order" INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE post_tags (
    post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    tag_id  INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, tag_id)
) WITHOUT ROWID;

CREATE INDEX post_tags_tag ON post_tags (tag_id);
CREATE INDEX tags_menu ON tags ("order", name);
