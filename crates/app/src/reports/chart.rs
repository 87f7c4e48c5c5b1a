//! A report as a horizontal bar chart, drawn server-side as SVG: no script, works in the UI, in a
//! download and in an e-mail. Billable time is the darker part of each bar.

use super::TimeReport;

/// Rows drawn; the table and the CSV have the rest.
pub const MAX_BARS: usize = 25;

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn shorten(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        name.to_string()
    } else {
        let mut s: String = name.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

/// Time as people read it everywhere in the product (My time, reports, the chart): `12:30`,
/// hours and minutes.
pub fn hours(minutes: u64) -> String {
    format!("{}:{:02}", minutes / 60, minutes % 60)
}

pub fn bar_chart(report: &TimeReport) -> String {
    const WIDTH: u32 = 720;
    const LABEL: u32 = 220;
    const VALUE: u32 = 80;
    const BAR_H: u32 = 22;
    const GAP: u32 = 6;
    let rows: Vec<_> = report.rows.iter().take(MAX_BARS).collect();
    let height = (rows.len() as u32).max(1) * (BAR_H + GAP) + GAP;
    let max = rows.iter().map(|r| r.minutes).max().unwrap_or(0).max(1);
    let span = (WIDTH - LABEL - VALUE) as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" viewBox=\"0 0 {WIDTH} {height}\" \
         width=\"{WIDTH}\" height=\"{height}\" aria-labelledby=\"chart-title\">\
         <title id=\"chart-title\">Time by {}, {} to {}</title>\
         <style>text{{font:13px system-ui,sans-serif;fill:#222}}.b{{fill:#2b6cb0}}.n{{fill:#90cdf4}}</style>",
        match report.by {
            clientele_domain::report::Grouping::Group => "client group",
            clientele_domain::report::Grouping::Client => "client",
            clientele_domain::report::Grouping::Staff => "staff",
        },
        report.from,
        report.to,
    );
    if rows.is_empty() {
        svg.push_str(&format!(
            "<text x=\"{GAP}\" y=\"{}\">No time in this range.</text>",
            BAR_H
        ));
    }
    for (i, r) in rows.iter().enumerate() {
        let y = GAP + i as u32 * (BAR_H + GAP);
        let total_w = (r.minutes as f64 / max as f64 * span).max(1.0);
        let billable_w = r.billable_minutes as f64 / max as f64 * span;
        svg.push_str(&format!(
            "<g><title>{name}: {h} ({b} billable)</title>\
             <text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{short}</text>\
             <rect class=\"n\" x=\"{LABEL}\" y=\"{y}\" width=\"{total_w:.1}\" height=\"{BAR_H}\"/>\
             <rect class=\"b\" x=\"{LABEL}\" y=\"{y}\" width=\"{billable_w:.1}\" height=\"{BAR_H}\"/>\
             <text x=\"{vx:.1}\" y=\"{ty}\">{h}</text></g>",
            name = escape(&r.name),
            short = escape(&shorten(&r.name, 28)),
            h = hours(r.minutes),
            b = hours(r.billable_minutes),
            lx = LABEL - 8,
            ty = y + BAR_H - 6,
            vx = LABEL as f64 + total_w + 6.0,
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::{ReportRow, ReportTotals};
    use clientele_domain::report::{Grouping, MembershipBasis, ReportParams};
    use clientele_domain::time_entry::Day;

    fn report(names: &[(&str, u64)]) -> TimeReport {
        TimeReport {
            from: Day(20_000),
            to: Day(20_030),
            by: Grouping::Group,
            basis: MembershipBasis::Current,
            rows: names
                .iter()
                .map(|&(name, minutes)| ReportRow {
                    kind: "group",
                    id: Some(1),
                    name: name.into(),
                    group_kind: None,
                    minutes,
                    billable_minutes: minutes / 2,
                    entries: 1,
                    clients_with_time: 1,
                    members: Some(1),
                })
                .collect(),
            total_rows: names.len(),
            total: ReportTotals {
                minutes: 0,
                billable_minutes: 0,
                entries: 0,
                clients_with_time: 0,
            },
            params: ReportParams::default(),
        }
    }

    #[test]
    fn bars_are_proportional_and_names_are_escaped() {
        let svg = bar_chart(&report(&[("<script>alert(1)</script>", 600), ("Small", 60)]));
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains(">10:00<") && svg.contains(">1:00<"), "{svg}");
        // The largest bar spans the whole width; the other a tenth of it.
        assert!(svg.contains("width=\"420.0\""), "{svg}");
        assert!(svg.contains("width=\"42.0\""), "{svg}");
    }

    #[test]
    fn an_empty_report_says_so() {
        assert!(bar_chart(&report(&[])).contains("No time in this range."));
    }
}
