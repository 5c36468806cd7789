//! TEMPORARY compile stub; replaced by the helper's module at merge.
#![allow(missing_docs)]
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline { pub start_ms: i64, pub detected_ms: Option<i64>, pub acknowledged_ms: Option<i64>, pub mitigated_ms: Option<i64>, pub resolved_ms: i64 }
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct MeanTimes { pub mttd_s: Option<f64>, pub mtta_s: Option<f64>, pub mttm_s: Option<f64>, pub mttr_s: Option<f64>, pub incidents: usize }
pub fn mean_times(t: &[Timeline]) -> MeanTimes {
    let mean = |f: &dyn Fn(&Timeline) -> Option<i64>| { let v: Vec<i64> = t.iter().filter_map(f).collect(); (!v.is_empty()).then(|| v.iter().sum::<i64>() as f64 / v.len() as f64 / 1000.0) };
    MeanTimes { mttd_s: mean(&|x| x.detected_ms.map(|d| d - x.start_ms)), mtta_s: mean(&|x| Some(x.acknowledged_ms? - x.detected_ms?)), mttm_s: mean(&|x| x.mitigated_ms.map(|d| d - x.start_ms)), mttr_s: mean(&|x| Some(x.resolved_ms - x.start_ms)), incidents: t.len() }
}
