-- The front page: published posts, newest first, with their tags in menu
-- order.
CREATE VIEW published_posts AS
SELECT p.id,
       p.slug,
       p.title,
       a.name AS author,
       p.published_at,
       (SELECT group_concat(name, ', ')
          FROM (SELECT t.name
                  FROM post_tags pt
                  JOIN tags t ON t.id = pt.tag_id
                 WHERE pt.post_id = p.id
                 ORDER BY t."order", t.name)) AS tags
  FROM posts p
  JOIN authors a ON a.id = p.author_id
 WHERE p.status = 'published'
 ORDER BY p.published_at DESC;
