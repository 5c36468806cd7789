//! The one way the report writes a CSV file: a [`Table`] of [`Column`]s, each a header name
//! beside the function that renders a row's cell, so a file's header and its rows come from
//! one list and cannot drift apart. The `csv` crate writes the table: `\n` after every
//! record, and quotes only around a field that holds a comma, a quote or a line break (a
//! quote doubled inside), which is the form `docs/timeseries-csv.md`,
//! `docs/components-csv.md` and `docs/compare-and-sweep.md` document.
//!
//! Cells are rendered by each file's own functions; the helpers here ([`optional`],
//! [`finite`]) are the two conventions for numbers that may be undefined.

use std::borrow::Cow;

/// One column of a CSV file: its header name and how a row becomes its cell.
pub struct Column<'a, R> {
    name: Cow<'a, str>,
    cell: Box<dyn Fn(&R) -> String + 'a>,
}

impl<'a, R> Column<'a, R> {
    /// A column named `name` whose cell for a row is `cell(row)`, written as it is (the
    /// writer adds quotes where the field needs them).
    pub fn new(name: impl Into<Cow<'a, str>>, cell: impl Fn(&R) -> String + 'a) -> Self {
        Column { name: name.into(), cell: Box::new(cell) }
    }

    /// The header name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cell of `row`.
    pub fn cell(&self, row: &R) -> String {
        (self.cell)(row)
    }
}

/// The columns of one CSV file, in order.
pub struct Table<'a, R> {
    columns: Vec<Column<'a, R>>,
}

impl<'a, R> Table<'a, R> {
    /// A table of `columns`, written left to right.
    pub fn new(columns: Vec<Column<'a, R>>) -> Self {
        Table { columns }
    }

    /// The header names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.columns.iter().map(Column::name).collect()
    }

    /// How many columns there are.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Whether the table has no column.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// The CSV text: the header line, then one line per row.
    pub fn to_csv(&self, rows: impl IntoIterator<Item = R>) -> String {
        // Pinned rather than left to the writer's defaults: these are the files' documented
        // bytes.
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .quote_style(csv::QuoteStyle::Necessary)
            .double_quote(true)
            .from_writer(Vec::new());
        // Writing to memory cannot fail with an I/O error, and every record has one field
        // per column, so the writer's only other error (records of unequal lengths) cannot
        // happen either.
        writer.write_record(self.columns.iter().map(Column::name)).expect("a header line is written to memory");
        for row in rows {
            writer.write_record(self.columns.iter().map(|c| c.cell(&row))).expect("a row is written to memory");
        }
        let bytes = writer.into_inner().expect("flushing to memory cannot fail");
        // Every field came from a `str`, and the writer adds only ASCII quotes, commas and
        // line feeds.
        String::from_utf8(bytes).expect("CSV of UTF-8 fields is UTF-8")
    }
}

/// A number that may be undefined: its `Display` form, empty when `None`.
pub fn optional(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// A number in its shortest exact form, empty when it is not finite (an interval of one
/// replication, a mean of nothing).
pub fn finite(v: f64) -> String {
    if v.is_finite() { v.to_string() } else { String::new() }
}

/// The names among `names` that `doc` (a Markdown page) never mentions as `` `name` ``:
/// a file's columns are a documented contract.
#[cfg(test)]
pub(crate) fn undocumented<'n>(names: &[&'n str], doc: &str) -> Vec<&'n str> {
    names.iter().copied().filter(|n| !doc.contains(&format!("`{n}`"))).collect()
}

/// Every record of `csv`, the header first, read back by the `csv` crate's reader, which
/// accepts records of any length so a test can see a short or long one.
#[cfg(test)]
pub(crate) fn read_back(csv: &str) -> Vec<csv::StringRecord> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(csv.as_bytes());
    reader.records().collect::<Result<_, _>>().expect("the CSV parses")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(label, value)` rows for the tests.
    fn table() -> Table<'static, (&'static str, f64)> {
        Table::new(vec![
            Column::new("label", |r: &(&str, f64)| r.0.to_string()),
            Column::new(String::from("value"), |r: &(&str, f64)| finite(r.1)),
        ])
    }

    #[test]
    fn header_and_rows_come_from_one_list() {
        let t = table();
        assert_eq!(t.names(), ["label", "value"]);
        assert_eq!(t.len(), 2);
        assert!(!t.is_empty());
        assert_eq!(t.to_csv([("a", 1.5), ("b", f64::NAN)]), "label,value\na,1.5\nb,\n");
        assert_eq!(t.to_csv([]), "label,value\n");
    }

    #[test]
    fn quotes_only_fields_that_need_them() {
        let rows = [("a,b", 1.0), ("say \"hi\"", 2.0), ("two\nlines", 3.0), ("cr\r", 4.0), ("plain spaces ", 5.0)];
        assert_eq!(
            table().to_csv(rows),
            "label,value\n\"a,b\",1\n\"say \"\"hi\"\"\",2\n\"two\nlines\",3\n\"cr\r\",4\nplain spaces ,5\n"
        );
    }

    #[test]
    fn reads_back_what_it_wrote() {
        let records = read_back(&table().to_csv([("a,b", 1.0), ("c", 2.0)]));
        assert_eq!(records.len(), 3);
        assert_eq!(&records[1][0], "a,b");
        assert!(records.iter().all(|r| r.len() == 2));
        assert_eq!(undocumented(&["label", "value"], "| `label` | a name |"), ["value"]);
    }

    #[test]
    fn undefined_numbers_are_empty() {
        assert_eq!(optional(None), "");
        assert_eq!(optional(Some(0.25)), "0.25");
        assert_eq!(optional(Some(f64::NAN)), "NaN");
        assert_eq!(finite(f64::INFINITY), "");
        assert_eq!(finite(1e-7), "0.0000001");
    }
}
