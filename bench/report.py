"""The results as tables and target verdicts, rendered as markdown (stdout and RESULTS.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Table:
    """A titled table of already formatted cells."""

    title: str
    columns: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """One target: what was asked, what was measured, whether it holds (None: a number
    reported beside the targets, with no target of its own)."""

    name: str
    target: str
    measured: str
    met: bool | None


@dataclass
class Report:
    """Everything one benchmark run produced."""

    tables: list[Table] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    values: dict[str, float] = field(default_factory=dict)  # raw numbers, for checks

    def extend(self, other: Report) -> None:
        """Append another report's tables, verdicts and values."""
        self.tables += other.tables
        self.verdicts += other.verdicts
        self.values.update(other.values)


def _table(columns: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]

    def line(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return [line(columns), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)]


def _verdict(met: bool | None) -> str:
    return "-" if met is None else "met" if met else "**NOT MET**"


def markdown(
    report: Report, *, command: str, cores: int, date: str, seconds: float, command_note: str = ""
) -> str:
    """The whole report as markdown."""
    out = [
        "# Benchmark results",
        "",
        f"- Command: `{command}`" + (f" ({command_note})" if command_note else ""),
        f"- Machine: {cores} cores (`nproc`)",
        f"- Date: {date}",
        f"- Benchmark wall time: {seconds:.0f} s",
        "",
        "## Targets",
        "",
    ]
    verdict_rows = [(v.name, v.target, v.measured, _verdict(v.met)) for v in report.verdicts]
    out += _table(("target", "wanted", "measured", "verdict"), verdict_rows)
    for table in report.tables:
        out += ["", f"## {table.title}", ""]
        out += _table(table.columns, table.rows)
        if table.notes:
            out.append("")
            out += [f"- {note}" for note in table.notes]
    return "\n".join(out) + "\n"
