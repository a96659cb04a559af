//! The ingest body: its collections keyed by their API names, each
//! document kept raw until typed one by one (so an error names its
//! collection and index), and the typed batch walked as a list of
//! collections. The body's field names are a second spelling of
//! `myhealth_common::oura::COLLECTIONS` (serde needs literals): a test holds
//! the two together.

use serde::Deserialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use super::daily::{
    ActivityDoc, CardioAgeDoc, DailySleepDoc, ReadinessDoc, ResilienceDoc, Spo2Doc, StressDoc, Vo2MaxDoc,
};
use super::heartrate::HeartRateSample;
use super::periods::{SessionDoc, SleepPeriodDoc, WorkoutDoc};
use super::report::CollectorReport;
use super::table::{Collection, Documents};
use crate::error::AppError;

/// A batch as it is stored: typed documents, each with its raw JSON text
/// (stored as JSONB as sent, without a round trip through `Value`).
#[derive(Debug, Default)]
pub(super) struct Parsed<'a> {
    pub daily_sleep: Vec<(DailySleepDoc, &'a str)>,
    pub sleep: Vec<(SleepPeriodDoc<'a>, &'a str)>,
    pub daily_activity: Vec<(ActivityDoc, &'a str)>,
    pub daily_readiness: Vec<(ReadinessDoc, &'a str)>,
    pub heartrate: Vec<HeartRateSample<'a>>,
    pub workout: Vec<(WorkoutDoc, &'a str)>,
    pub session: Vec<(SessionDoc<'a>, &'a str)>,
    pub daily_spo2: Vec<(Spo2Doc, &'a str)>,
    pub daily_stress: Vec<(StressDoc, &'a str)>,
    pub daily_resilience: Vec<(ResilienceDoc, &'a str)>,
    pub daily_cardiovascular_age: Vec<(CardioAgeDoc, &'a str)>,
    pub vo2_max: Vec<(Vo2MaxDoc, &'a str)>,
    pub collector: Option<CollectorReport>,
}

impl Parsed<'_> {
    /// Every collection of the batch, in the order of
    /// `myhealth_common::oura::COLLECTIONS` (the order they are validated
    /// and stored in).
    pub fn collections(&self) -> [&dyn Documents; 12] {
        [
            &self.daily_sleep,
            &self.sleep,
            &self.daily_activity,
            &self.daily_readiness,
            &self.heartrate,
            &self.workout,
            &self.session,
            &self.daily_spo2,
            &self.daily_stress,
            &self.daily_resilience,
            &self.daily_cardiovascular_age,
            &self.vo2_max,
        ]
    }
}

/// The body: documents are kept raw until typed one by one (so an error
/// names its collection and index); samples are typed straight away. Every
/// collection is optional; documents may carry fields not named here (they
/// are stored raw, as sent).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Batch)]
pub(super) struct Body<'a> {
    #[serde(default, borrow)]
    #[schema(value_type = Vec<DailySleepDoc>)]
    daily_sleep: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    #[schema(value_type = Vec<SleepPeriodDoc>)]
    sleep: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    #[schema(value_type = Vec<ActivityDoc>)]
    daily_activity: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    #[schema(value_type = Vec<ReadinessDoc>)]
    daily_readiness: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    heartrate: Vec<HeartRateSample<'a>>,
    #[serde(default, borrow)]
    #[schema(value_type = Vec<WorkoutDoc>)]
    workout: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    #[schema(value_type = Vec<SessionDoc>)]
    session: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    #[schema(value_type = Vec<Spo2Doc>)]
    daily_spo2: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    #[schema(value_type = Vec<StressDoc>)]
    daily_stress: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    #[schema(value_type = Vec<ResilienceDoc>)]
    daily_resilience: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    #[schema(value_type = Vec<CardioAgeDoc>)]
    daily_cardiovascular_age: Vec<&'a RawValue>,
    #[serde(default, borrow, rename = "vO2_max")]
    #[schema(value_type = Vec<Vo2MaxDoc>)]
    vo2_max: Vec<&'a RawValue>,
    /// What the collector's run did (exported as metrics: the collector is
    /// a CronJob with nothing to scrape).
    #[serde(default)]
    collector: Option<CollectorReport>,
}

fn typed<'a, T: Collection<'a>>(raw: Vec<&'a RawValue>) -> Result<Vec<(T, &'a str)>, AppError> {
    raw.into_iter()
        .enumerate()
        .map(|(i, r)| {
            serde_json::from_str::<T>(r.get()).map(|t| (t, r.get())).map_err(|e| AppError::InvalidDocument {
                collection: T::NAME.to_string(),
                message: format!("{}[{i}]: {e}", T::NAME),
            })
        })
        .collect()
}

pub(super) fn parse(bytes: &[u8]) -> Result<Parsed<'_>, AppError> {
    // Tracking the path costs a fifth of the parse of a body of samples:
    // it is only needed to name where a body went wrong, so only then is
    // the body parsed again, with it.
    let body: Body = match serde_json::from_slice(bytes) {
        Ok(body) => body,
        Err(e) => return Err(parse_error(bytes, e)),
    };
    typed_body(body)
}

/// The error of a body that does not parse (`first`), with the path where
/// it fails.
fn parse_error(bytes: &[u8], first: serde_json::Error) -> AppError {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let Err(e) = serde_path_to_error::deserialize::<_, Body>(de) else {
        // The value itself parses: what follows it does not (trailing
        // characters), which only `from_slice` checks.
        return AppError::BadRequest(format!("malformed JSON: {first}"));
    };
    let (path, inner) = (e.path().to_string(), e.into_inner());
    let at = if path == "." { String::new() } else { format!("{path}: ") };
    match inner.classify() {
        serde_json::error::Category::Data => AppError::Invalid(format!("{at}{inner}")),
        _ => AppError::BadRequest(format!("malformed JSON: {inner}")),
    }
}

/// Each document of the body typed, so an error names its collection and index.
fn typed_body(body: Body<'_>) -> Result<Parsed<'_>, AppError> {
    Ok(Parsed {
        daily_sleep: typed(body.daily_sleep)?,
        sleep: typed(body.sleep)?,
        daily_activity: typed(body.daily_activity)?,
        daily_readiness: typed(body.daily_readiness)?,
        heartrate: body.heartrate,
        workout: typed(body.workout)?,
        session: typed(body.session)?,
        daily_spo2: typed(body.daily_spo2)?,
        daily_stress: typed(body.daily_stress)?,
        daily_resilience: typed(body.daily_resilience)?,
        daily_cardiovascular_age: typed(body.daily_cardiovascular_age)?,
        vo2_max: typed(body.vo2_max)?,
        collector: body.collector,
    })
}
