/** The SQLite schema (idempotent DDL). Times are epoch milliseconds; JSON columns hold TEXT. */

export const SCHEMA_VERSION = 1;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS veil_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  step TEXT NOT NULL,
  step_state TEXT NOT NULL,
  ingress TEXT NOT NULL,
  route TEXT NOT NULL,
  source TEXT NOT NULL,
  study_key TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  lease_owner TEXT,
  lease_until INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, id);
CREATE INDEX IF NOT EXISTS jobs_study ON jobs (study_key);
CREATE TABLE IF NOT EXISTS deliveries (
  job_id TEXT NOT NULL REFERENCES jobs (id),
  destination TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  error TEXT,
  lease_owner TEXT,
  lease_until INTEGER,
  updated_at INTEGER NOT NULL,
  delivered_at INTEGER,
  PRIMARY KEY (job_id, destination)
);
CREATE INDEX IF NOT EXISTS deliveries_state ON deliveries (state);
CREATE TABLE IF NOT EXISTS quarantine (
  job_id TEXT PRIMARY KEY REFERENCES jobs (id),
  state TEXT NOT NULL,
  code TEXT NOT NULL,
  tag_path TEXT,
  step TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS quarantine_state ON quarantine (state);
CREATE TABLE IF NOT EXISTS studies (
  study_key TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  instances INTEGER NOT NULL,
  first_seen_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  stable_at INTEGER,
  outcome TEXT
);
CREATE INDEX IF NOT EXISTS studies_state ON studies (state, last_seen_at);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  job_id TEXT,
  event TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_job ON audit (job_id, seq);
`;
