DROP TRIGGER posts_fts_update;
DROP TRIGGER posts_fts_delete;
DROP TRIGGER posts_fts_insert;
-- Drops the index's shadow tables (posts_fts_data, posts_fts_idx, ...) too.
DROP TABLE posts_fts;
