-- Every Oura collection the collector fetches, each document kept raw as
-- Oura sent it (per collection and document id) plus the typed columns the
-- dashboard and the API read. Typed upserts never replace a stored value by
-- NULL (COALESCE in the statements), so a later fetch that lacks a field or
-- a night can only add.

-- raw_documents.kind is now the Oura collection name. The collector used to
-- send a merged view of daily_sleep and the night's long sleep as `sleep`:
-- those rows are kept, under a name no collection uses, and no longer written.
UPDATE raw_documents SET kind = 'daily_activity' WHERE kind = 'activity';
UPDATE raw_documents SET kind = 'daily_readiness' WHERE kind = 'readiness';
UPDATE raw_documents SET kind = 'merged_sleep_v1' WHERE kind = 'sleep';
CREATE INDEX raw_documents_kind_day ON raw_documents (kind, day);

-- daily_sleep's contributors beside its score; the durations, HRV and heart
-- rate stay those of the day's longest long_sleep period (derived by the
-- processor from sleep_periods), plus which period that was.
ALTER TABLE sleep_metrics
    ADD COLUMN contributor_deep_sleep   SMALLINT CHECK (contributor_deep_sleep BETWEEN 0 AND 100),
    ADD COLUMN contributor_efficiency   SMALLINT CHECK (contributor_efficiency BETWEEN 0 AND 100),
    ADD COLUMN contributor_latency      SMALLINT CHECK (contributor_latency BETWEEN 0 AND 100),
    ADD COLUMN contributor_rem_sleep    SMALLINT CHECK (contributor_rem_sleep BETWEEN 0 AND 100),
    ADD COLUMN contributor_restfulness  SMALLINT CHECK (contributor_restfulness BETWEEN 0 AND 100),
    ADD COLUMN contributor_timing       SMALLINT CHECK (contributor_timing BETWEEN 0 AND 100),
    ADD COLUMN contributor_total_sleep  SMALLINT CHECK (contributor_total_sleep BETWEEN 0 AND 100),
    ADD COLUMN time_in_bed_seconds      INTEGER CHECK (time_in_bed_seconds BETWEEN 0 AND 172800),
    ADD COLUMN bedtime_start            TIMESTAMPTZ,
    ADD COLUMN bedtime_end              TIMESTAMPTZ,
    ADD COLUMN sleep_period_id          TEXT;

-- Every sleep period (long_sleep, sleep, late_nap, rest, deleted) with its
-- 5-minute heart-rate and HRV series ({interval, items, timestamp}).
CREATE TABLE sleep_periods (
    oura_id               TEXT PRIMARY KEY,
    day                   DATE NOT NULL,
    type                  TEXT,
    period                SMALLINT,
    bedtime_start         TIMESTAMPTZ NOT NULL,
    bedtime_end           TIMESTAMPTZ NOT NULL,
    time_in_bed_seconds   INTEGER CHECK (time_in_bed_seconds BETWEEN 0 AND 172800),
    total_sleep_seconds   INTEGER CHECK (total_sleep_seconds BETWEEN 0 AND 86400),
    deep_sleep_seconds    INTEGER CHECK (deep_sleep_seconds BETWEEN 0 AND 86400),
    light_sleep_seconds   INTEGER CHECK (light_sleep_seconds BETWEEN 0 AND 86400),
    rem_sleep_seconds     INTEGER CHECK (rem_sleep_seconds BETWEEN 0 AND 86400),
    awake_seconds         INTEGER CHECK (awake_seconds BETWEEN 0 AND 86400),
    efficiency            SMALLINT CHECK (efficiency BETWEEN 0 AND 100),
    latency_seconds       INTEGER CHECK (latency_seconds BETWEEN 0 AND 86400),
    average_hrv           REAL CHECK (average_hrv >= 0),
    average_heart_rate    REAL CHECK (average_heart_rate BETWEEN 20 AND 250),
    lowest_heart_rate     SMALLINT CHECK (lowest_heart_rate BETWEEN 20 AND 250),
    average_breath        REAL CHECK (average_breath >= 0),
    restless_periods      INTEGER CHECK (restless_periods >= 0),
    readiness_score       SMALLINT CHECK (readiness_score BETWEEN 0 AND 100),
    sleep_phase_5_min     TEXT,
    heart_rate            JSONB,
    hrv                   JSONB,
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX sleep_periods_day ON sleep_periods (day);
CREATE INDEX sleep_periods_start ON sleep_periods (bedtime_start);

CREATE TABLE workouts (
    oura_id               TEXT PRIMARY KEY,
    day                   DATE NOT NULL,
    activity              TEXT NOT NULL,
    intensity             TEXT,
    source                TEXT,
    label                 TEXT,
    calories              REAL CHECK (calories >= 0),
    distance_meters       REAL CHECK (distance_meters >= 0),
    start_datetime        TIMESTAMPTZ NOT NULL,
    end_datetime          TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX workouts_start ON workouts (start_datetime);
CREATE INDEX workouts_day ON workouts (day);

CREATE TABLE sessions (
    oura_id               TEXT PRIMARY KEY,
    day                   DATE NOT NULL,
    type                  TEXT NOT NULL,
    mood                  TEXT,
    start_datetime        TIMESTAMPTZ NOT NULL,
    end_datetime          TIMESTAMPTZ NOT NULL,
    heart_rate            JSONB,
    hrv                   JSONB,
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX sessions_start ON sessions (start_datetime);
CREATE INDEX sessions_day ON sessions (day);

CREATE TABLE spo2_metrics (
    day                   DATE PRIMARY KEY,
    oura_id               TEXT,
    spo2_average          REAL CHECK (spo2_average BETWEEN 0 AND 100),
    breathing_disturbance_index SMALLINT CHECK (breathing_disturbance_index >= 0),
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE stress_metrics (
    day                   DATE PRIMARY KEY,
    oura_id               TEXT,
    stress_high_seconds   INTEGER CHECK (stress_high_seconds BETWEEN 0 AND 86400),
    recovery_high_seconds INTEGER CHECK (recovery_high_seconds BETWEEN 0 AND 86400),
    day_summary           TEXT,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE resilience_metrics (
    day                   DATE PRIMARY KEY,
    oura_id               TEXT,
    level                 TEXT,
    sleep_recovery        REAL CHECK (sleep_recovery BETWEEN 0 AND 100),
    daytime_recovery      REAL CHECK (daytime_recovery BETWEEN 0 AND 100),
    stress                REAL CHECK (stress BETWEEN 0 AND 100),
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE cardiovascular_age_metrics (
    day                   DATE PRIMARY KEY,
    oura_id               TEXT,
    vascular_age          SMALLINT CHECK (vascular_age BETWEEN 0 AND 150),
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE vo2_max_metrics (
    day                   DATE PRIMARY KEY,
    oura_id               TEXT,
    measured_at           TIMESTAMPTZ,
    vo2_max               REAL CHECK (vo2_max BETWEEN 0 AND 150),
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The collector keeps one sync-state stream per collection (`oura_<collection>`);
-- the old single `oura` stream is read once, as where the five collections
-- it covered start.
