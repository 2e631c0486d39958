-- Run once by the postgres image on an empty data volume
-- (/docker-entrypoint-initdb.d). Two roles, as Backstop expects (README:
-- Database roles): backstop_owner owns the database and its schema and runs
-- the migrations; backstop serves with only the grants the migrator gives it,
-- so it can never switch off the audit log's append-only triggers.
CREATE ROLE backstop_owner LOGIN;
CREATE ROLE backstop LOGIN;
CREATE DATABASE backstop OWNER backstop_owner;
