//! Latency samples and the report every workload prints.

use serde::Serialize;

/// Latencies in microseconds.
#[derive(Debug, Default, Clone)]
pub struct Samples(pub Vec<f64>);

impl Samples {
    pub fn push(&mut self, started: std::time::Instant) {
        self.0.push(started.elapsed().as_secs_f64() * 1e6);
    }

    pub fn percentile(&self, p: f64) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        let mut sorted = self.0.clone();
        sorted.sort_by(f64::total_cmp);
        let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
        sorted[rank.min(sorted.len() - 1)]
    }
}

/// One workload's result: ours, the hand-written baseline measured in the same run, and the ratio.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub workload: String,
    pub size: String,
    pub backend: String,
    pub ops: usize,
    pub p50_us: f64,
    pub p99_us: f64,
    pub ops_per_s: f64,
    pub peak_rss_mb: f64,
    pub baseline: String,
    pub baseline_p50_us: f64,
    pub baseline_p99_us: f64,
    pub baseline_ops_per_s: f64,
    /// Ours over the baseline (median latency); above 1 means faster.
    pub speedup: f64,
    /// Anything else the workload measured (memory of the index, start-up, visibility delays...).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Report {
    pub fn new(workload: &str, size: &str, backend: &str) -> Report {
        Report {
            workload: workload.to_string(),
            size: size.to_string(),
            backend: backend.to_string(),
            ops: 0,
            p50_us: 0.0,
            p99_us: 0.0,
            ops_per_s: 0.0,
            peak_rss_mb: 0.0,
            baseline: String::new(),
            baseline_p50_us: 0.0,
            baseline_p99_us: 0.0,
            baseline_ops_per_s: 0.0,
            speedup: 0.0,
            extra: Default::default(),
        }
    }

    pub fn ours(&mut self, samples: &Samples, ops_per_s: f64) {
        self.ops = samples.0.len();
        self.p50_us = samples.percentile(50.0);
        self.p99_us = samples.percentile(99.0);
        self.ops_per_s = ops_per_s;
    }

    pub fn baseline(&mut self, name: &str, samples: &Samples, ops_per_s: f64) {
        self.baseline = name.to_string();
        self.baseline_p50_us = samples.percentile(50.0);
        self.baseline_p99_us = samples.percentile(99.0);
        self.baseline_ops_per_s = ops_per_s;
    }

    pub fn note(&mut self, key: &str, value: impl Into<serde_json::Value>) {
        self.extra.insert(key.to_string(), value.into());
    }

    pub fn finish(mut self) -> Report {
        self.speedup = if self.p50_us > 0.0 {
            self.baseline_p50_us / self.p50_us
        } else {
            0.0
        };
        self.peak_rss_mb = peak_rss_mb();
        self
    }

    pub fn print(&self, json: bool) {
        if json {
            println!("{}", serde_json::to_string(self).unwrap_or_default());
            return;
        }
        println!("{} ({} data, {})", self.workload, self.size, self.backend);
        println!(
            "  ours:     {:>8} ops  p50 {:>10.2} us  p99 {:>10.2} us  {:>12.0} ops/s",
            self.ops, self.p50_us, self.p99_us, self.ops_per_s
        );
        println!(
            "  baseline: {:<30}  p50 {:>10.2} us  p99 {:>10.2} us  {:>12.0} ops/s",
            self.baseline, self.baseline_p50_us, self.baseline_p99_us, self.baseline_ops_per_s
        );
        // Two significant digits: a ratio of 0.034 must not print as 0.0.
        let digits = if self.speedup > 0.0 && self.speedup < 1.0 {
            (1.0 - self.speedup.log10().floor()) as usize
        } else {
            1
        };
        println!(
            "  speedup (baseline p50 / ours p50): {:.digits$}x   peak RSS {:.0} MB",
            self.speedup, self.peak_rss_mb
        );
        for (k, v) in &self.extra {
            println!("  {k}: {v}");
        }
    }
}

/// The process's peak resident memory (Linux), in MB.
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_ranked_samples() {
        let s = Samples((1..=100).map(f64::from).collect());
        assert_eq!(s.percentile(50.0), 51.0);
        assert_eq!(s.percentile(99.0), 99.0);
        assert_eq!(Samples::default().percentile(50.0), 0.0);
    }
}
