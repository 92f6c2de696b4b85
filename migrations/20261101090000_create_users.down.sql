-- Dropping the table drops its index and trigger with it; they are named
-- here so the file reads as the exact reverse of the up file.
DROP TRIGGER users_touch_updated_at;
DROP INDEX users_email_unique;
DROP TABLE users;
