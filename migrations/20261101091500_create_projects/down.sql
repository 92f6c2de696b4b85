DROP INDEX projects_owner_name;
DROP TABLE projects;
