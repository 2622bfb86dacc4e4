"""`python -m ressenti.cli`."""

from ressenti.cli import main

main()
