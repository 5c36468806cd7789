//! The scenario's wall clock: seconds after Monday 00:00 (a week wraps), and the hours
//! people work. The on-call rotation and the alert scores read it; the scenario format
//! parses it (`[scenario] start_time`, `[monitoring] business_hours`).

/// Seconds in a week: the wall clock wraps at Monday 00:00.
pub const WEEK_S: u64 = 7 * 24 * 3600;

/// Days and hours people work, on the scenario's wall clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BusinessHours {
    /// Bit `d` set: weekday `d` (0 = Monday) is a working day.
    pub days: u8,
    /// Start of the working day, seconds after midnight.
    pub start_s: u32,
    /// End of the working day, seconds after midnight.
    pub end_s: u32,
}

impl Default for BusinessHours {
    fn default() -> Self {
        BusinessHours { days: 0b001_1111, start_s: 9 * 3600, end_s: 17 * 3600 }
    }
}

impl BusinessHours {
    /// Whether `week_s` (seconds after Monday 00:00) falls in working hours.
    pub fn contains(&self, week_s: u64) -> bool {
        let s = week_s % WEEK_S;
        let day = (s / 86_400) as u8;
        let in_day = (s % 86_400) as u32;
        self.days & (1 << day) != 0 && (self.start_s..self.end_s).contains(&in_day)
    }
}
