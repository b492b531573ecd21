"""``python -m telelake`` runs the command line (used by the demo to start ``serve``)."""

from telelake.cli import main

main()
