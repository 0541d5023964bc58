//! The text that `agentlens import` prints at the end: counts of what it found and sent,
//! the calls it could not price, and the total with a check of the collector's price table.

use super::ImportSummary;

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(formatter, "files read:      {}", self.files)?;
        writeln!(formatter, "events found:    {}", self.events)?;
        writeln!(formatter, "events sent:     {}", self.sent)?;
        writeln!(formatter, "  new:            {}", self.new_events())?;
        writeln!(formatter, "  already stored: {}", self.already_stored)?;

        if self.failed > 0 || self.pending > 0 {
            writeln!(formatter, "events failed:   {}", self.failed)?;
            writeln!(formatter, "events unsent:   {}", self.pending)?;
        }

        self.write_id_conflicts(formatter)?;

        if self.invalid_usage > 0 || self.skipped_lines > 0 {
            writeln!(
                formatter,
                "invalid calls:   {} (not sent)",
                self.invalid_usage
            )?;
            for example in &self.invalid_examples {
                writeln!(formatter, "  {example}")?;
            }
            writeln!(formatter, "unreadable lines: {}", self.skipped_lines)?;
            for example in &self.unreadable_examples {
                writeln!(formatter, "  {example}")?;
            }
        }

        if self.events == 0 && self.files > 0 && self.invalid_usage == 0 {
            writeln!(
                formatter,
                "no Claude Code assistant messages with usage in these files; \
                 `agentlens import claude-code` reads Claude Code transcripts \
                 (~/.claude/projects), not other tools' logs"
            )?;
        }

        if self.no_usage_lines > 0 {
            writeln!(
                formatter,
                "lines without usage: {} (assistant lines with no message.usage or message.model)",
                self.no_usage_lines
            )?;
        }

        if self.synthetic_messages > 0 {
            writeln!(
                formatter,
                "synthetic messages skipped: {} (written by Claude Code without a model call)",
                self.synthetic_messages
            )?;
        }

        let unpriced: u64 = self.unpriced.values().sum();
        writeln!(formatter, "unpriced events: {unpriced}")?;
        for (model, count) in &self.unpriced {
            let reason = self.unpriced_reasons.get(model).map_or("", String::as_str);
            writeln!(
                formatter,
                "  {model}: {count} ({reason}; a --prices file can add the price)"
            )?;
        }

        write!(formatter, "priced total:    ${}", self.total_usd)?;
        if self.failed > 0 || self.pending > 0 || self.id_conflicts.total > 0 {
            write!(formatter, " (includes events the collector did not store)")?;
        }

        self.write_table_check(formatter)
    }
}

impl ImportSummary {
    /// Writes whether the total was priced with the collector's price table, whose costs
    /// the collector stores, and the fix when it was not.
    fn write_table_check(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ours = &self.pricing_version;
        match self.collector_pricing_version.as_deref() {
            Some(theirs) if theirs == ours => write!(
                formatter,
                "\nprice table:     {ours}, the collector's, so the total matches its stored costs"
            ),
            Some(theirs) => write!(
                formatter,
                "\nprice table:     {ours}, but the collector prices with {theirs}, so its \
                 stored costs differ from this total; pass the collector's --prices file to \
                 the import"
            ),
            None => write!(
                formatter,
                "\nprice table:     {ours}; the collector's could not be checked, so its \
                 stored costs may differ if it runs with another --prices file"
            ),
        }
    }
}
