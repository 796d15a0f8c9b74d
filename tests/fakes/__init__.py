"""The loopback fakes (DESIGN.md, Testing) live in `sandbox/fakes/`, so the same code serves
the tests, the benchmarks and the local sandbox (`make run`); this package names them here."""

from sandbox.fakes.claude import FakeAnthropic, Fault, Reply
from sandbox.fakes.slack import FakeSlack, SlackFault

__all__ = ["FakeAnthropic", "FakeSlack", "Fault", "Reply", "SlackFault"]
