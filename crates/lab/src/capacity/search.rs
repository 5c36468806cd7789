//! The search along one line of configurations (one dimension's values in ascending order,
//! the other dimensions fixed): bisection for the smallest value that meets, assuming more
//! capacity is never worse, with the assumption checked on every point it evaluates.
//!
//! A [`Line`] is a small state machine, free of simulation: the driver asks it which
//! points to evaluate next ([`Line::probes`]), evaluates them, and records the verdicts
//! ([`Line::record`]). It evaluates the largest value first, then the smallest, then
//! bisects between the largest that fails and the smallest that meets: `2 + ⌈log₂(n − 1)⌉`
//! points of `n` at most. Whenever a larger value fails where a smaller one met, the line
//! is **not monotone** and falls back to scanning every point it has not evaluated. (While
//! bisecting, a failing point always lies below a meeting one, so the evidence can only
//! come from the two ends: the largest failing where the smallest met.)

/// Where a line's search stands.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// The largest value is to be evaluated.
    Top,
    /// The smallest value is to be evaluated (the largest met).
    Bottom,
    /// `lo` fails, `hi` meets; the point between them is next.
    Bisect { lo: usize, hi: usize },
    /// Not monotone: every point not yet evaluated.
    Scan,
    /// Nothing more to evaluate.
    Done,
}

/// The search along one line of `n` points, index 0 the smallest value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    verdicts: Vec<Option<bool>>,
    phase: Phase,
    violation: Option<(usize, usize)>,
    /// Whether the points are ordered by capacity (a bisection), so that a larger one
    /// failing where a smaller one met is evidence against monotonicity.
    ordered: bool,
}

impl Line {
    /// A search over `n` points (at least one).
    pub fn new(n: usize) -> Line {
        let phase = if n == 0 { Phase::Done } else { Phase::Top };
        Line { verdicts: vec![None; n], phase, violation: None, ordered: true }
    }

    /// A line that is scanned whole (its values are not numbers: nothing to bisect).
    pub fn scan(n: usize) -> Line {
        let phase = if n == 0 { Phase::Done } else { Phase::Scan };
        Line { verdicts: vec![None; n], phase, violation: None, ordered: false }
    }

    /// Most points a monotone line of `n` evaluates: the top, the bottom and the bisection.
    pub fn planned(n: usize) -> usize {
        match n {
            0 => 0,
            1 | 2 => n,
            _ => 2 + (usize::BITS - (n - 2).leading_zeros()) as usize,
        }
    }

    /// The points to evaluate next (none when the search is over). Every point is asked
    /// for once.
    pub fn probes(&self) -> Vec<usize> {
        let n = self.verdicts.len();
        match self.phase {
            Phase::Top => vec![n - 1],
            Phase::Bottom => vec![0],
            Phase::Bisect { lo, hi } => vec![lo + (hi - lo) / 2],
            Phase::Scan => (0..n).filter(|&i| self.verdicts[i].is_none()).collect(),
            Phase::Done => Vec::new(),
        }
    }

    /// Records whether point `i` meets, and moves the search on.
    pub fn record(&mut self, i: usize, meets: bool) {
        let n = self.verdicts.len();
        if i >= n {
            return;
        }
        self.verdicts[i] = Some(meets);
        if self.ordered && self.violation.is_none() {
            self.violation = self.find_violation();
        }
        if self.violation.is_some() {
            let rest = self.verdicts.iter().any(Option::is_none);
            self.phase = if rest { Phase::Scan } else { Phase::Done };
            return;
        }
        self.phase = match self.phase {
            Phase::Top if n == 1 => Phase::Done,
            // The largest fails and (monotone) so does every smaller one; the smallest is
            // still evaluated, to check.
            Phase::Top => Phase::Bottom,
            Phase::Bottom => match self.verdicts[n - 1] {
                Some(true) if !meets => Self::bisect(0, n - 1),
                Some(_) | None => Phase::Done,
            },
            Phase::Bisect { lo, hi } => {
                if meets {
                    Self::bisect(lo, i.min(hi))
                } else {
                    Self::bisect(i.max(lo), hi)
                }
            }
            Phase::Scan => {
                if self.verdicts.iter().any(Option::is_none) {
                    Phase::Scan
                } else {
                    Phase::Done
                }
            }
            Phase::Done => Phase::Done,
        };
    }

    fn bisect(lo: usize, hi: usize) -> Phase {
        if hi - lo <= 1 { Phase::Done } else { Phase::Bisect { lo, hi } }
    }

    /// A smaller point that met and a larger one that failed, if any were evaluated.
    fn find_violation(&self) -> Option<(usize, usize)> {
        let first_met = self.verdicts.iter().position(|v| *v == Some(true))?;
        let last_failed = self.verdicts.iter().rposition(|v| *v == Some(false))?;
        (last_failed > first_met).then_some((first_met, last_failed))
    }

    /// Whether the search is over.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The smallest point evaluated that meets.
    pub fn answer(&self) -> Option<usize> {
        self.verdicts.iter().position(|v| *v == Some(true))
    }

    /// The first evidence that the line is not monotone: a point that met and a larger
    /// one that failed.
    pub fn violation(&self) -> Option<(usize, usize)> {
        self.violation
    }

    /// How many points were evaluated.
    pub fn evaluated(&self) -> usize {
        self.verdicts.iter().filter(|v| v.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a line to the end against `meets`, returning the answer and the points in the
    /// order they were evaluated.
    fn search(n: usize, meets: impl Fn(usize) -> bool) -> (Option<usize>, Vec<usize>, Line) {
        let mut line = Line::new(n);
        let mut order = Vec::new();
        while !line.is_done() {
            let probes = line.probes();
            assert!(!probes.is_empty(), "a running search asks for a point");
            for i in probes {
                assert!(!order.contains(&i), "point {i} asked twice");
                order.push(i);
                line.record(i, meets(i));
            }
        }
        (line.answer(), order, line)
    }

    #[test]
    fn bisection_finds_the_smallest_meeting_point_in_logarithmic_steps() {
        for n in 1..=70 {
            for answer in 0..=n {
                let (found, order, line) = search(n, |i| i >= answer);
                assert_eq!(found, (answer < n).then_some(answer), "n={n} answer={answer}");
                assert!(order.len() <= Line::planned(n), "n={n} answer={answer}: {order:?}");
                assert_eq!(line.violation(), None);
            }
        }
        assert_eq!(Line::planned(39), 8, "servers.count=2..40: 39 values, 8 evaluations");
        assert_eq!(Line::planned(2), 2);
        let (_, order, _) = search(39, |i| i >= 5);
        assert_eq!(order[..2], [38, 0], "the largest first, then the smallest");
    }

    #[test]
    fn a_larger_point_failing_where_a_smaller_met_falls_back_to_a_scan() {
        // Meets only in a band: the largest fails, the smallest too; (monotone) none meets
        // is the answer the check cannot contradict.
        let (found, order, line) = search(10, |i| (3..6).contains(&i));
        assert_eq!((found, order.len(), line.violation()), (None, 2, None));
        // The largest fails but the smallest meets: not monotone, every point scanned.
        let (found, order, line) = search(10, |i| i == 0 || i == 7);
        assert_eq!(found, Some(0));
        assert_eq!(order.len(), 10, "scanned: {order:?}");
        assert_eq!(line.violation(), Some((0, 9)));
        // Met at both ends: the smallest is the answer; the points between are not needed.
        let (found, order, line) = search(9, |i| i == 0 || i >= 6);
        assert_eq!((found, order, line.violation()), (Some(0), vec![8, 0], None));
        // Bisecting keeps a failing point below a meeting one, so its points agree with
        // monotonicity by construction: the check can only fire on the two ends.
        let (found, order, _) = search(9, |i| i == 4 || i == 8 || i == 1);
        assert_eq!((found, order), (Some(4), vec![8, 0, 4, 2, 3]));
    }
}
