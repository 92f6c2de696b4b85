DROP INDEX tags_menu;
DROP INDEX post_tags_tag;
DROP TABLE post_tags;
DROP TABLE tags;
