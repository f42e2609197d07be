// The quarantine, `fti_quarantine`: every row a pipeline rejected, with all
// its reasons and the row as read. Created when the store opens (any run may
// quarantine); features/sources.ts writes it.

export const QUARANTINE_TABLE = `CREATE TABLE IF NOT EXISTS fti_quarantine (
     run_id VARCHAR NOT NULL,
     source VARCHAR NOT NULL,
     row_number BIGINT,
     row_json JSON,
     reason VARCHAR NOT NULL,
     quarantined_at TIMESTAMP NOT NULL,
     file VARCHAR
   )`;
