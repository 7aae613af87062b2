"""`python -m dashboard` is the same as the `dispatch` command."""

from dashboard.cli import main

raise SystemExit(main())
