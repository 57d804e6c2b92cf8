-- alexidx 0.3.0 -> 0.4.0: uuid columns can have an alexidx index.
\echo Use "ALTER EXTENSION alexidx UPDATE TO '0.4.0'" to load this file. \quit

-- A uuid is a wide key: all 16 bytes, in PostgreSQL's bytewise uuid order.
CREATE OPERATOR CLASS uuid_ops DEFAULT FOR TYPE uuid USING alexidx AS
    OPERATOR 1 < , OPERATOR 2 <= , OPERATOR 3 = , OPERATOR 4 >= , OPERATOR 5 > ,
    FUNCTION 1 uuid_cmp(uuid, uuid);
