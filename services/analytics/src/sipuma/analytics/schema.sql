-- The analytics warehouse (DuckDB). One row per event id; the typed views read the payload,
-- so a new optional field in an event changes nothing here (it stays in `payload`).
CREATE TABLE IF NOT EXISTS events (
    event_id     VARCHAR PRIMARY KEY,
    event_type   VARCHAR NOT NULL,
    office_code  VARCHAR NOT NULL,
    day          DATE NOT NULL,          -- the office's local date (WIB/WITA/WIT) of occurred_at
    complaint_id VARCHAR NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL,
    payload      JSON NOT NULL
);
CREATE TABLE IF NOT EXISTS positions (
    topic       VARCHAR NOT NULL,
    part        INTEGER NOT NULL,
    next_offset BIGINT NOT NULL,
    PRIMARY KEY (topic, part)
);
CREATE TABLE IF NOT EXISTS counters (rejected BIGINT NOT NULL);
INSERT INTO counters SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM counters);

CREATE OR REPLACE VIEW registered AS
SELECT event_id, office_code, day, complaint_id,
       payload->>'register_number' AS register_number,
       payload->>'channel' AS channel,                           -- null in events before issue 18
       CAST(payload->>'received_at' AS TIMESTAMPTZ) AS received_at,
       CAST(payload->>'registered_at' AS TIMESTAMPTZ) AS registered_at,
       date_diff('second', CAST(payload->>'received_at' AS TIMESTAMPTZ),
                 CAST(payload->>'registered_at' AS TIMESTAMPTZ)) / 60.0 AS minutes_to_number
FROM events WHERE event_type = 'sipuma.complaint.registered.v1';

CREATE OR REPLACE VIEW status_changes AS
SELECT event_id, office_code, day, complaint_id,
       payload->>'from_status' AS from_status, payload->>'to_status' AS to_status,
       CAST(payload->>'changed_at' AS TIMESTAMPTZ) AS changed_at
FROM events WHERE event_type = 'sipuma.complaint.status-changed.v1';

CREATE OR REPLACE VIEW evidence AS
SELECT event_id, office_code, day, complaint_id,
       payload->>'kind' AS kind, payload->>'content_type' AS content_type,
       CAST(payload->>'size_bytes' AS BIGINT) AS size_bytes
FROM events WHERE event_type = 'sipuma.evidence.stored.v1';

CREATE OR REPLACE VIEW notifications AS
SELECT event_id, office_code, day, complaint_id, occurred_at,
       payload->>'channel' AS channel,
       CASE WHEN event_type = 'sipuma.notification.sent.v1' THEN 'sent' ELSE 'failed' END
           AS outcome,
       CAST(payload->>'attempts' AS INTEGER) AS attempts,
       payload->>'reason' AS reason,
       coalesce(CAST(payload->>'final' AS BOOLEAN), true) AS final
FROM events
WHERE event_type IN ('sipuma.notification.sent.v1', 'sipuma.notification.failed.v1');

CREATE OR REPLACE VIEW deadline_alerts AS
SELECT event_id, office_code, day, complaint_id,
       payload->>'stage' AS stage, payload->>'status' AS status,
       CASE WHEN event_type = 'sipuma.complaint.deadline-approaching.v1' THEN 'approaching'
            ELSE 'overdue' END AS kind,
       payload->>'escalation' AS escalation,
       CAST(payload->>'due_at' AS TIMESTAMPTZ) AS due_at
FROM events
WHERE event_type IN ('sipuma.complaint.deadline-approaching.v1', 'sipuma.complaint.overdue.v1');

-- Category steps (kategori pengaduan, set by compliance staff after registration; issue 18):
-- every step, and each complaint's current category (its latest step).
CREATE OR REPLACE VIEW categorisations AS
SELECT event_id, office_code, day, complaint_id,
       payload->>'category' AS category, payload->>'previous_category' AS previous_category,
       CAST(payload->>'categorised_at' AS TIMESTAMPTZ) AS categorised_at
FROM events WHERE event_type = 'sipuma.complaint.categorised.v1';

CREATE OR REPLACE VIEW complaint_categories AS
SELECT complaint_id, office_code, category, categorised_at FROM categorisations
QUALIFY row_number() OVER (PARTITION BY complaint_id ORDER BY categorised_at DESC, event_id) = 1;
