"""Entry point of `python -m devhost`."""

from devhost.host import main

raise SystemExit(main())
