"""The agents' anonymous team barometer (issue 15), beside the users' satisfaction of the same sites.

- settings.py: off by default; an admin enables it per organisation, with its scale, questions and
  minimum group size (5 answers, configurable upward only);
- teams.py: a team is a reception point or a group of sites of one organisation;
- codes.py: single-use codes, one per team member and ISO week, printed on paper (sheet.py);
- answers.py: a code and an answer in one transaction, stored apart: the code is marked used in
  one table, the answer only adds to per-week counters in another, with no link between them;
- figures.py: per team, per week or month only, withheld under the minimum, beside the users'
  net satisfaction of the team's sites, with a plain-words reading of how they move together;
- notes.py: the "what we changed" note per team and period, shown to the team.

What is collected and what never is: docs/privacy.md. How it works: docs/barometer.md.
"""

from ressenti.errors import RessentiError


class BarometerError(RessentiError, ValueError):
    """A barometer request was refused; the message says why (in English, with a French twin in `fr`)."""

    def __init__(self, en: str, fr: str | None = None) -> None:
        super().__init__(en)
        self.fr = fr or en
