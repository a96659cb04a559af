-- Daily metrics, one row per day (the single user's), plus heart-rate
-- samples, every raw Oura document, and the collector's sync state.

CREATE TABLE sleep_metrics (
    day                   DATE PRIMARY KEY,
    oura_id               TEXT,
    score                 SMALLINT CHECK (score BETWEEN 0 AND 100),
    total_sleep_seconds   INTEGER CHECK (total_sleep_seconds BETWEEN 0 AND 86400),
    deep_sleep_seconds    INTEGER CHECK (deep_sleep_seconds BETWEEN 0 AND 86400),
    light_sleep_seconds   INTEGER CHECK (light_sleep_seconds BETWEEN 0 AND 86400),
    rem_sleep_seconds     INTEGER CHECK (rem_sleep_seconds BETWEEN 0 AND 86400),
    efficiency            SMALLINT CHECK (efficiency BETWEEN 0 AND 100),
    latency_seconds       INTEGER CHECK (latency_seconds BETWEEN 0 AND 86400),
    average_hrv           REAL CHECK (average_hrv >= 0),
    lowest_heart_rate     SMALLINT CHECK (lowest_heart_rate BETWEEN 20 AND 250),
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE activity_metrics (
    day                   DATE PRIMARY KEY,
    oura_id               TEXT,
    score                 SMALLINT CHECK (score BETWEEN 0 AND 100),
    steps                 INTEGER CHECK (steps >= 0),
    active_calories       INTEGER CHECK (active_calories >= 0),
    total_calories        INTEGER CHECK (total_calories >= 0),
    active_seconds        INTEGER CHECK (active_seconds BETWEEN 0 AND 86400),
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE readiness_metrics (
    day                   DATE PRIMARY KEY,
    oura_id               TEXT,
    score                 SMALLINT CHECK (score BETWEEN 0 AND 100),
    temperature_deviation REAL CHECK (temperature_deviation BETWEEN -10 AND 10),
    -- Oura's readiness contributors are scores (0-100), not bpm or ms.
    resting_heart_rate_score SMALLINT CHECK (resting_heart_rate_score BETWEEN 0 AND 100),
    hrv_balance_score     SMALLINT CHECK (hrv_balance_score BETWEEN 0 AND 100),
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE heart_rate_samples (
    ts                    TIMESTAMPTZ NOT NULL,
    source                TEXT NOT NULL,
    bpm                   SMALLINT NOT NULL CHECK (bpm BETWEEN 20 AND 250),
    PRIMARY KEY (ts, source)
);

-- Every document as Oura sent it, so a later schema can be backfilled
-- without asking Oura again.
CREATE TABLE raw_documents (
    kind                  TEXT NOT NULL,
    oura_id               TEXT NOT NULL,
    day                   DATE,
    payload               JSONB NOT NULL,
    received_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, oura_id)
);

CREATE TABLE sync_state (
    stream                TEXT PRIMARY KEY,
    last_synced_day       DATE NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
