-- Unsupported definitions fail with messages that say what to use.
CREATE TABLE bad (t text, n numeric, a bigint, b bigint);
CREATE INDEX ON bad USING alexidx (t);
CREATE INDEX ON bad USING alexidx (n);
CREATE INDEX ON bad USING alexidx (a, b);
CREATE UNIQUE INDEX ON bad USING alexidx (a);
CREATE INDEX ON bad USING alexidx (a) WITH (no_such_option = 1);
CREATE INDEX ON bad USING alexidx (a) WITH (max_node_slots = -5);
SELECT alexidx_stats('bad');
SELECT alexidx_tree_events('bad');
DROP TABLE bad;
