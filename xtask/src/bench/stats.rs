//! Medians and ranges of repeated measurements.

/// Median, minimum and maximum of a set of values.
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// Summarises `values`, or returns `None` when there are none.
pub fn summarize(values: &[f64]) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    let median = if sorted.len().is_multiple_of(2) {
        f64::midpoint(sorted[middle - 1], sorted[middle])
    } else {
        sorted[middle]
    };
    Some(Summary {
        median,
        min: sorted[0],
        max: sorted[sorted.len() - 1],
    })
}

#[cfg(test)]
mod tests {
    use super::summarize;

    #[test]
    fn median_of_odd_count() {
        let summary = summarize(&[3.0, 1.0, 2.0]).unwrap();
        assert!((summary.median - 2.0).abs() < f64::EPSILON);
        assert!((summary.min - 1.0).abs() < f64::EPSILON);
        assert!((summary.max - 3.0).abs() < f64::EPSILON);
    }

    #[test]
    fn median_of_even_count() {
        let summary = summarize(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert!((summary.median - 2.5).abs() < f64::EPSILON);
    }

    #[test]
    fn empty_has_no_summary() {
        assert!(summarize(&[]).is_none());
    }
}
