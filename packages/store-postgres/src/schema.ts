/** The PostgreSQL schema (idempotent DDL) inside one schema namespace. Times are epoch ms (BIGINT); JSON is JSONB. */

export const SCHEMA_VERSION = 1;

/** A PostgreSQL schema name Veil accepts (it is spliced into SQL: lower-case identifier, at most 63 characters). */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function schemaSql(s: string): string {
  return `
CREATE TABLE IF NOT EXISTS ${s}.veil_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ${s}.jobs (
  id TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  step TEXT NOT NULL,
  step_state JSONB NOT NULL,
  ingress TEXT NOT NULL,
  route TEXT NOT NULL,
  source JSONB NOT NULL,
  study_key TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  lease_owner TEXT,
  lease_until BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  finished_at BIGINT
);
CREATE INDEX IF NOT EXISTS jobs_state ON ${s}.jobs (state, id);
CREATE INDEX IF NOT EXISTS jobs_study ON ${s}.jobs (study_key);
CREATE TABLE IF NOT EXISTS ${s}.deliveries (
  job_id TEXT NOT NULL REFERENCES ${s}.jobs (id),
  destination TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT,
  error TEXT,
  lease_owner TEXT,
  lease_until BIGINT,
  updated_at BIGINT NOT NULL,
  delivered_at BIGINT,
  PRIMARY KEY (job_id, destination)
);
CREATE INDEX IF NOT EXISTS deliveries_state ON ${s}.deliveries (state);
CREATE TABLE IF NOT EXISTS ${s}.quarantine (
  job_id TEXT PRIMARY KEY REFERENCES ${s}.jobs (id),
  state TEXT NOT NULL,
  code TEXT NOT NULL,
  tag_path TEXT,
  step TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS quarantine_state ON ${s}.quarantine (state);
CREATE TABLE IF NOT EXISTS ${s}.studies (
  study_key TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  instances INTEGER NOT NULL,
  first_seen_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  stable_at BIGINT,
  outcome JSONB
);
CREATE INDEX IF NOT EXISTS studies_state ON ${s}.studies (state, last_seen_at);
CREATE TABLE IF NOT EXISTS ${s}.audit (
  seq BIGSERIAL PRIMARY KEY,
  at BIGINT NOT NULL,
  job_id TEXT,
  event TEXT NOT NULL,
  detail JSONB NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_job ON ${s}.audit (job_id, seq);
`;
}
