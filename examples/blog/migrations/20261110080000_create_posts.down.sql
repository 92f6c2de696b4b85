DROP TRIGGER posts_touch_updated_at;
DROP INDEX posts_published;
DROP INDEX posts_author;
DROP TABLE posts;
DROP TABLE authors;
