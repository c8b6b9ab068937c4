//! The job board: what the page shows of each job.

use super::*;

/// One job as the page and the terminal see it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobView {
    pub job_id: String,
    pub video_id: String,
    pub source_key: String,
    /// `SUBMITTED`, `PROGRESSING`, `COMPLETE` or `ERROR`.
    pub status: &'static str,
    pub percent: u32,
    pub error: Option<String>,
}

/// Every job since start, newest last.
#[derive(Debug, Default)]
pub struct JobBoard {
    jobs: Mutex<BTreeMap<String, JobView>>,
}

impl JobBoard {
    pub fn update(&self, job_id: &str, f: impl FnOnce(&mut JobView)) {
        if let Ok(mut jobs) = self.jobs.lock()
            && let Some(j) = jobs.get_mut(job_id)
        {
            f(j);
        }
    }

    pub(crate) fn insert(&self, view: JobView) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.insert(view.job_id.clone(), view);
        }
    }

    pub fn get(&self, job_id: &str) -> Option<JobView> {
        self.jobs.lock().ok()?.get(job_id).cloned()
    }

    pub fn to_json(&self) -> Value {
        let jobs = self.jobs.lock().map(|j| j.clone()).unwrap_or_default();
        Value::Array(
            jobs.values()
                .map(|j| {
                    json!({
                        "job_id": j.job_id, "video_id": j.video_id, "source_key": j.source_key,
                        "status": j.status, "percent": j.percent, "error": j.error,
                    })
                })
                .collect(),
        )
    }
}
