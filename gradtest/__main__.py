"""``python -m gradtest``: the command line tool (see ``gradtest --help``)."""

from gradtest_cli import main

raise SystemExit(main())
