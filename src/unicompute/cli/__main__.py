"""``python -m unicompute.cli``: the same as the ``unicompute`` command."""

from . import main

main(prog_name="unicompute")
