-- First start of the compose PostgreSQL (docker-entrypoint-initdb.d, run by psql as POSTGRES_USER):
-- the databases of the Sentinel services and of the schema registry (Apicurio SQL storage).
-- Idempotent: POSTGRES_DB may already have created `sentinel`.
SELECT 'CREATE DATABASE sentinel'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'sentinel')\gexec
SELECT 'CREATE DATABASE sentinel_registry'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'sentinel_registry')\gexec
